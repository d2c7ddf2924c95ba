# The reference image with a big HOME (5000 small files, 80 files of 4 MB), so seeding it onto a
# new volume takes seconds and the fault test's kill lands in the copy, most likely mid-file.
FROM gitspace-chart/gitspace:0.1.0
RUN mkdir -p /home/vscode/big && cd /home/vscode/big && \
    for d in $(seq 1 100); do mkdir "$d"; for f in $(seq 1 50); do echo "$d/$f" >"$d/$f"; done; done && \
    mkdir blobs && for f in $(seq 1 80); do head -c 4194304 /dev/urandom >"blobs/$f"; done && \
    chown -R 1000:1000 /home/vscode/big
