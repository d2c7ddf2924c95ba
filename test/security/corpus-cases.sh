# shellcheck shell=bash
# The bad-input corpus: one line per case, run by corpus.sh. Each must be refused with a message
# matching the regex (the field and the value) and change nothing. test/chart/wrong-values.test.ts
# already has 34 wrong values for `helm template`; the values cases here are the ones it lacks.
# $CANARY in a case is the file an injection would create.
# shellcheck disable=SC2016  # the $(...) and backticks are the inputs, not expansions

P='touch /tmp/pwned-corpus'
HUGE=$(big)

# kind   name                                   message (regex)                                      input
# --- values through `helm template` (values.schema.json, then the templates' rules)
values 'user.uid as a string "1000"'           "/user/uid': got string, want integer"               'user: {uid: "1000"}'
values 'user.gid -1'                           "/user/gid': minimum: got -1"                        'user: {gid: -1}'
values 'user.gid 4294967296'                   "/user/gid': maximum: got"                           'user: {gid: 4294967296}'
values 'user.remoteUser 1 MB'                  "/user/remoteUser'"                                  "user: {remoteUser: $HUGE}"
values 'user.home /home/../etc'                "/user/home': '/home/../etc' does not match"         'user: {home: /home/../etc}'
values 'user.home with a space'                "/user/home': '/home/a b' does not match"            'user: {home: "/home/a b"}'
values 'repo.url fd::3'                        "/repo/url': 'fd::3' does not match"                 'repo: {url: "fd::3"}'
values 'repo.url --upload-pack='               "/repo/url': '--upload-pack=$P' does not match"      "repo: {url: \"--upload-pack=$P\"}"
values 'repo.url ending in /..'                'repo\.url.*(\.\.|folder name)'                      'repo: {url: "https://git.example.com/acme/.."}'
values 'repo.url with a newline'               "/repo/url'"                                         'repo: {url: "https://git.example.com/a\ntouch"}'
values 'repo.url with a password'              'repo\.url.*(password|credential)'                   'repo: {url: "https://me:s3cret@git.example.com/acme/app.git"}'
values 'repo.url ssh://-oProxyCommand'         'repo\.url.*-oProxyCommand'                          'repo: {url: "ssh://-oProxyCommand=id/x"}'
values 'repo.url 1 MB'                         "/repo/url'"                                         "repo: {url: https://h/$HUGE}"
values 'repo.name a;b'                         "/repo/name': 'a;b' does not match"                  'repo: {name: "a;b"}'
values 'repo.name $(id)'                       "/repo/name': '\\\$\(id\)' does not match"           'repo: {name: "$(id)"}'
values 'repo.credentials.existingSecret ../x'  "/repo/credentials/existingSecret': '../x' does not"  'repo: {credentials: {existingSecret: ../x}}'
values 'ssh.authorizedKeysSecret a;b'          "/ssh/authorizedKeysSecret': 'a;b' does not match"   'ssh: {authorizedKeysSecret: "a;b"}'
values 'git.userName with a newline'           "/git/userName'"                                     'git: {userName: "a\nb"}'
values 'git.userEmail with a space'            "/git/userEmail': 'a b@c' does not match"            'git: {userEmail: "a b@c"}'
values 'jetbrains.downloadUrl file://'         "/ide/jetbrains/downloadUrl': 'file:///etc/passwd'"  'ide: {jetbrains: {downloadUrl: "file:///etc/passwd"}}'
values 'image.repository with ;'               "/image/repository': 'a;b' does not match"           'image: {repository: "a;b"}'
values 'automountServiceAccountToken "yes"'    "/automountServiceAccountToken': got string"         'automountServiceAccountToken: "yes"'

# --- a real `helm install`: refused before anything exists in the namespace
install 'user.uid -1'                          "/user/uid': minimum: got -1"                        'user: {uid: -1}'
install 'repo.url ext::'                       "/repo/url': 'ext::sh -c $P' does not match"         "repo: {url: \"ext::sh -c $P\"}"
install 'SSH IDE without authorizedKeysSecret' 'ssh\.authorizedKeysSecret: ide\.type vs_code'       'ide: {type: vs_code}'

# --- devcontainer.json and arguments through `gitspace-chart values`
devc 'malformed JSONC (missing comma)'         'devcontainer\.json.*(line 3|:3)'                    $'{\n  "remoteUser": "vscode"\n  "containerUser": "root"\n}'
devc 'empty devcontainer.json'                 'devcontainer\.json.*empty'                          ''
devc 'unterminated /* comment'                 'devcontainer\.json:1:[0-9]+: .*EndOfComment' $'{ "remoteUser": "vscode" /* open\n'
devc 'top level is an array'                   'devcontainer\.json.*(object|array)'                 '["vscode"]'
devc 'remoteUser unknown uid 1234'             'remoteUser.*"1234".*not in the image'               '{"remoteUser": "1234"}'
devc 'remoteUser unknown group'                'remoteUser.*"vscode:nogroup".*nogroup'              '{"remoteUser": "vscode:nogroup"}'
devc 'remoteUser uid 2147483648'               'remoteUser.*"2147483648"'                           '{"remoteUser": "2147483648"}'
devc 'remoteUser uid -1'                       'remoteUser.*"-1"'                                   '{"remoteUser": "-1"}'
devc 'remoteUser gid -5'                       'remoteUser.*"vscode:-5"'                            '{"remoteUser": "vscode:-5"}'
devc 'remoteUser empty'                        'remoteUser.*""'                                     '{"remoteUser": ""}'
devc 'remoteUser a:b:c'                        'remoteUser.*"a:b:c"'                                '{"remoteUser": "a:b:c"}'
devc 'remoteUser with ;'                       "remoteUser.*\"a;$P\""                               "{\"remoteUser\": \"a;$P\"}"
devc 'remoteUser with $()'                     'remoteUser.*"\$\(touch'                             "{\"remoteUser\": \"\$($P)\"}"
devc 'remoteUser with backticks'               'remoteUser.*"`touch'                                "{\"remoteUser\": \"\`$P\`\"}"
devc 'remoteUser with a space'                 'remoteUser.*"a b"'                                  '{"remoteUser": "a b"}'
devc 'remoteUser with a newline'               'remoteUser.*"a\\nb"'                                '{"remoteUser": "a\nb"}'
devc 'remoteUser 1 MB'                         'remoteUser'                                         "{\"remoteUser\": \"$HUGE\"}"
devc 'containerUser ../x'                      'containerUser.*"\.\./x"'                            '{"containerUser": "../x"}'
devc 'runArgs -u $()'                          '"\$\(touch'                                         "{\"runArgs\": [\"-u\", \"\$($P)\"]}"
devc '--repo-url ext::'                        "repo.?url.*ext::sh"                                 '{}' "--repo-url=ext::sh -c $P"
devc '--repo-url file://'                      'repo.?url.*file:///etc'                             '{}' --repo-url=file:///etc
devc '--repo-url fd::'                         'repo.?url.*fd::3'                                   '{}' --repo-url=fd::3
devc '--repo-url --upload-pack='               'repo.?url.*--upload-pack'                           '{}' "--repo-url=--upload-pack=$P"
devc '--repo-url ending in /..'                'repo.?url.*\.\.'                                    '{}' --repo-url=https://git.example.com/acme/..
devc '--repo-url with a password'              'repo.?url.*(password|credential)'                   '{}' --repo-url=https://me:s3cret@git.example.com/acme/app.git
devc '--repo-url ssh://-oProxyCommand'          'repo.?url.*-oProxyCommand'                          '{}' --repo-url=ssh://-oProxyCommand=id/x
devc '--branch --upload-pack='                 'branch.*--upload-pack'                              '{}' "--branch=--upload-pack=$P"

# --- in-cluster detection (the clone step reads the repository's devcontainer.json)
detect 'malformed JSONC (missing comma)'       'devcontainer\.json:3:'                              $'{\n  "remoteUser": "vscode"\n  "containerUser": "root"\n}'
detect 'empty devcontainer.json'               'devcontainer\.json:1: empty file'                   ''
detect 'unterminated string'                   'devcontainer\.json:1: unterminated string'          '{"remoteUser": "vscode'
detect 'top level is an array'                 'devcontainer\.json:1: top level must be an object'  '["vscode"]'

# --- script arguments, in the image (create-user-dynamic.sh as root: it edits /etc/passwd)
script 'create user a;touch'                   "USER: invalid user name .*a\\\\;"                   0 "$S/create-user-dynamic.sh" "a;$P" 1000 1000 /home/a
script 'create user $()'                       'USER: invalid user name .*\$\\\(touch'              0 "$S/create-user-dynamic.sh" "\$($P)" 1000 1000 /home/a
script 'create user backticks'                 'USER: invalid user name .*\\`touch'                 0 "$S/create-user-dynamic.sh" "\`$P\`" 1000 1000 /home/a
script 'create user with a space'              "USER: invalid user name a\\\\ b"                    0 "$S/create-user-dynamic.sh" 'a b' 1000 1000 /home/a
script 'create user with a newline'            "USER: invalid user name \\$'a\\\\nb'"               0 "$S/create-user-dynamic.sh" $'a\nb' 1000 1000 /home/a
script 'create uid 2147483648'                 'UID: invalid id 2147483648'                         0 "$S/create-user-dynamic.sh" dev 2147483648 1000 /home/dev
script 'create uid -1'                         'UID: invalid id -1'                                 0 "$S/create-user-dynamic.sh" dev -1 1000 /home/dev
script 'create gid abc'                        'GID: invalid id abc'                                0 "$S/create-user-dynamic.sh" dev 1000 abc /home/dev
script 'create HOME /home/../etc'              "HOME: /home/../etc must not contain '..'"           0 "$S/create-user-dynamic.sh" dev 1001 1001 /home/../etc
script 'create HOME relative'                  'HOME: home/dev is not an absolute path'             0 "$S/create-user-dynamic.sh" dev 1001 1001 home/dev
script 'create root with uid 1000'             'USER: root must have uid 0'                         0 "$S/create-user-dynamic.sh" root 1000 1000 /root
script 'create user with system uid 0'         "UID: uid 0 belongs to the system user root"         0 "$S/create-user-dynamic.sh" dev 0 0 /home/dev
script 'clone ext::'                           'REPO_URL: unsupported or unsafe URL .*ext::'        1000 "$S/clone-repository.sh" "ext::sh -c $P"
script 'clone file://'                         'REPO_URL: unsupported or unsafe URL file:///etc'    1000 "$S/clone-repository.sh" file:///etc
script 'clone fd::'                            'REPO_URL: unsupported or unsafe URL fd::3'          1000 "$S/clone-repository.sh" fd::3
script 'clone --upload-pack='                  'REPO_URL: unsupported or unsafe URL .*--upload-pack' 1000 "$S/clone-repository.sh" "--upload-pack=$P"
script 'clone ssh://-oProxyCommand'            'REPO_URL: ssh://-oProxyCommand=id/x has no host'    1000 "$S/clone-repository.sh" ssh://-oProxyCommand=id/x
script 'clone URL with a password'             'REPO_URL: the URL carries a password'               1000 "$S/clone-repository.sh" https://me:s3cret@git.example.com/acme/app.git
script 'clone URL with $()'                    'REPO_URL: unsupported or unsafe URL .*\$\\\(touch'  1000 "$S/clone-repository.sh" "https://h/\$($P).git"
script 'clone URL ending in /..'               "REPO_NAME: .*'\.\.'"                                1000 "$S/clone-repository.sh" https://git.example.com/acme/..
script 'clone name ../x'                       'REPO_NAME: invalid repository folder name \.\./x'   1000 "$S/clone-repository.sh" https://git.example.com/acme/app.git ../x
script 'clone name a;b'                        'REPO_NAME: invalid repository folder name a\\;b'    1000 "$S/clone-repository.sh" https://git.example.com/acme/app.git 'a;b'
script 'clone branch --upload-pack='           'REPO_BRANCH: invalid branch name .*--upload-pack'   1000 "$S/clone-repository.sh" https://git.example.com/acme/app.git app "--upload-pack=$P"
script 'clone URL 100 KB'                      'REPO_URL'                                           1000 "$S/clone-repository.sh" "https://h/${HUGE:0:102400}"

# --- VALID edge inputs: resolved exactly as devcontainers/cli does, never refused
valid 'remoteUser "0" is root'                 '{"containerUser":"root","remoteUser":"root","uid":0,"gid":0,"home":"/root"}'                '{"remoteUser": "0"}'
valid 'remoteUser "root:root" is root'         '{"containerUser":"root","remoteUser":"root","uid":0,"gid":0,"home":"/root"}'                '{"remoteUser": "root:root"}'
valid 'remoteUser uid string "1000" is vscode' '{"containerUser":"root","remoteUser":"vscode","uid":1000,"gid":1000,"home":"/home/vscode"}' '{"remoteUser": "1000"}'
valid 'containerUser root, remoteUser vscode'  '{"containerUser":"root","remoteUser":"vscode","uid":1000,"gid":1000,"home":"/home/vscode"}' '{"containerUser": "root", "remoteUser": "vscode"}'
valid 'containerUser "1000:999" (uid:gid)'     '{"containerUser":"vscode","remoteUser":"vscode","uid":1000,"gid":999,"home":"/home/vscode"}' '{"containerUser": "1000:999"}'
