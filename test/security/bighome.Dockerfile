# The reference image with a HOME of 30000 small files, so seeding it onto a new volume takes
# seconds and the fault test can kill the pod while the copy runs.
FROM gitspace-chart/gitspace:0.1.0
RUN mkdir -p /home/vscode/big && cd /home/vscode/big && \
    for d in $(seq 1 100); do mkdir "$d"; for f in $(seq 1 300); do echo "$d/$f" >"$d/$f"; done; done && \
    chown -R 1000:1000 /home/vscode/big
