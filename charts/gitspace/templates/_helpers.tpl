{{/*
Names, labels and the few derived values every template shares. The user model's rules (HOME,
repo name, IDE port/protocol) come from the generated _model.tpl: never re-derive them here.
*/}}

{{- define "gitspace.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Release-based name, shortened so "-test-layout" and "-migrate" suffixes stay under 63. */}}
{{- define "gitspace.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 48 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 48 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 48 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "gitspace.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "gitspace.selectorLabels" -}}
app.kubernetes.io/name: {{ include "gitspace.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* The gitspace pod only: the Service, NetworkPolicy and test affinity select on these, so
the migration Job and test pods (other components) never become Service endpoints. */}}
{{- define "gitspace.podSelectorLabels" -}}
{{ include "gitspace.selectorLabels" . }}
app.kubernetes.io/component: gitspace
{{- end -}}

{{- define "gitspace.labels" -}}
helm.sh/chart: {{ include "gitspace.chart" . }}
{{ include "gitspace.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: gitspace
{{- end -}}

{{/* The gitspace identity, as the Docker runtime names it (gitspace.id, default the release). */}}
{{- define "gitspace.id" -}}
{{- default .Release.Name .Values.gitspace.id -}}
{{- end -}}

{{- define "gitspace.image" -}}
{{- printf "%s:%s" .Values.image.repository .Values.image.tag -}}
{{- end -}}

{{/* Empty when running is false (stopped: 0 replicas), else "true". A release whose values predate
`running` (helm upgrade --reuse-values from an older chart) has none: it runs. */}}
{{- define "gitspace.running" -}}
{{- if not (and (kindIs "bool" .Values.running) (not .Values.running)) }}true{{ end -}}
{{- end -}}

{{/* reset.generation as text, "0" (never reset) when unset. Numbers from a values file reach the
template as float64: int64 keeps 12345678 from printing as 1.2345678e+07. */}}
{{- define "gitspace.resetGeneration" -}}
{{- $g := dig "generation" 0 (default dict .Values.reset) -}}
{{- if kindIs "string" $g }}{{ $g }}{{ else }}{{ int64 $g }}{{ end -}}
{{- end -}}

{{- define "gitspace.claimName" -}}
{{- default (include "gitspace.fullname" .) .Values.persistence.existingClaim -}}
{{- end -}}

{{- /* The shared scripts ConfigMap (charts/gitspace-scripts of the same version): not the release's. */ -}}
{{- define "gitspace.scriptsConfigMap" -}}{{ .Values.scripts.configMap | default (printf "gitspace-scripts-%s" .Chart.Version) }}{{- end -}}
{{- define "gitspace.envConfigMap" -}}{{ include "gitspace.fullname" . }}-env{{- end -}}
{{- define "gitspace.hooksConfigMap" -}}{{ include "gitspace.fullname" . }}-hooks{{- end -}}

{{/* Fixed paths of the contract in docs/architecture.md. */}}
{{- define "gitspace.scriptsDir" -}}/usr/local/gitspace/scripts{{- end -}}
{{- define "gitspace.volumeDir" -}}/gitspace/volume{{- end -}}
{{- define "gitspace.etcDir" -}}/gitspace/etc{{- end -}}
{{- define "gitspace.hooksDir" -}}/gitspace/hooks{{- end -}}
{{- define "gitspace.sshDir" -}}/gitspace/ssh{{- end -}}
{{- define "gitspace.idePasswordDir" -}}/gitspace/ide{{- end -}}
{{- define "gitspace.credentialsDir" -}}/gitspace/git-credentials{{- end -}}
{{- define "gitspace.runDir" -}}/gitspace/run{{- end -}}

{{/*
Where the main container mounts the volume and starts: HOME (layout home, as Docker Gitspace), or
/workspaces only (layout legacy, as the old Kubernetes runtime).
*/}}
{{- define "gitspace.volumeTarget" -}}
{{- if eq .Values.compat.layout "legacy" -}}/workspaces{{- else -}}{{ include "gitspace.model.home" . }}{{- end -}}
{{- end -}}

{{- define "gitspace.workingDir" -}}{{ include "gitspace.volumeTarget" . }}{{- end -}}

{{/* Where the code is: {volume target}/{repo}; empty when no repository is cloned (no repo.url). */}}
{{- define "gitspace.repoPath" -}}
{{- $repo := include "gitspace.model.repoName" . -}}
{{- if and .Values.repo.url $repo -}}{{ include "gitspace.volumeTarget" . }}/{{ $repo }}{{- end -}}
{{- end -}}

{{/* "true" when the extra /workspaces mount of layout home applies (and is not HOME itself). */}}
{{- define "gitspace.workspacesMount" -}}
{{- if and (eq .Values.compat.layout "home") .Values.compat.workspacesMount (ne (include "gitspace.model.home" .) "/workspaces") -}}true{{- end -}}
{{- end -}}

{{/* "true" when the pre-upgrade migration hook is rendered (see docs/chart.md, Migration hook). */}}
{{- define "gitspace.migrationHook" -}}
{{- /* A stopped gitspace has no old pod to migrate beside: prepare migrates when it starts. */ -}}
{{- if and .Values.running .Values.compat.migrateOnUpgrade (eq .Values.compat.layout "home") (ne .Values.persistence.accessMode "ReadWriteOncePod") (not .Values.rescue) -}}true{{- end -}}
{{- end -}}

{{/* Service/container ports: the IDE port, then forwardPorts (same numbers, IDE port not repeated). */}}
{{- define "gitspace.forwardPorts" -}}
{{- $ide := include "gitspace.model.idePort" . | int -}}
{{- $out := list -}}
{{- range .Values.devcontainer.forwardPorts -}}
{{- if ne (int .) $ide -}}{{- $out = append $out (int .) -}}{{- end -}}
{{- end -}}
{{- toJson $out -}}
{{- end -}}

{{/*
securityContext of a container that runs as the gitspace user: Pod Security `restricted` for any
uid but 0 (runAsNonRoot cannot hold for root; validate refuses uid 0 in security.mode restricted).
*/}}
{{- define "gitspace.userSecurityContext" -}}
runAsUser: {{ int .Values.user.uid }}
runAsGroup: {{ int .Values.user.gid }}
runAsNonRoot: {{ ne (int .Values.user.uid) 0 }}
allowPrivilegeEscalation: false
capabilities:
  drop: ["ALL"]
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/*
securityContext of the main container (the IDE, terminals, hooks). security.sudo (standard mode
only; gitspace.model.rules refuses it in restricted): the image's sudo works as on Docker
Gitspace: privilege escalation allowed (setuid sudo) and, for what runs under sudo, Docker's
default capabilities that Pod Security baseline allows (Docker's set without NET_RAW). The
process itself still runs as the user: the capabilities are only in its bounding set until a
setuid binary (sudo) raises them.
*/}}
{{- define "gitspace.mainSecurityContext" -}}
{{- if .Values.security.sudo -}}
runAsUser: {{ int .Values.user.uid }}
runAsGroup: {{ int .Values.user.gid }}
runAsNonRoot: {{ ne (int .Values.user.uid) 0 }}
allowPrivilegeEscalation: true
capabilities:
  drop: ["ALL"]
  add: ["AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD", "NET_BIND_SERVICE", "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT"]
seccompProfile:
  type: RuntimeDefault
{{- else -}}
{{ include "gitspace.userSecurityContext" . }}
{{- end -}}
{{- end -}}

{{/*
securityContext of `prepare` and of the migration Job. standard: root, because it creates the
user in /etc, copies the image's HOME with owners kept and fixes ownership; only the capabilities
that needs (docs/chart.md, Security): CHOWN (cp -a, chown), DAC_OVERRIDE (read the image's 0700
dirs, write into the user's), FOWNER (chmod/utimes on files it does not own), FSETID (keep setgid
bits, fsGroup's included). No SETUID/SETGID: nothing switches user. restricted: the user.
*/}}
{{- define "gitspace.prepareSecurityContext" -}}
{{- if eq .Values.security.mode "restricted" -}}
{{ include "gitspace.userSecurityContext" . }}
{{- else -}}
runAsUser: 0
runAsGroup: 0
runAsNonRoot: false
allowPrivilegeEscalation: false
capabilities:
  drop: ["ALL"]
  add: ["CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID"]
seccompProfile:
  type: RuntimeDefault
{{- end -}}
{{- end -}}

{{- define "gitspace.podSecurityContext" -}}
fsGroup: {{ int .Values.user.gid }}
fsGroupChangePolicy: OnRootMismatch
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/* The resolved user, as every script reads it (docs/architecture.md, Environment). */}}
{{- define "gitspace.userEnv" -}}
- name: GITSPACE_USER
  value: {{ .Values.user.remoteUser | quote }}
- name: GITSPACE_UID
  value: {{ int .Values.user.uid | quote }}
- name: GITSPACE_GID
  value: {{ int .Values.user.gid | quote }}
- name: HOME
  value: {{ include "gitspace.model.home" . | quote }}
- name: GITSPACE_LAYOUT
  value: {{ .Values.compat.layout | quote }}
{{- end -}}

{{/* Environment of prepare and the migration Job (both see the volume at /gitspace/volume). */}}
{{- define "gitspace.prepareEnv" -}}
{{ include "gitspace.userEnv" . }}
- name: GITSPACE_VOLUME
  value: {{ include "gitspace.volumeDir" . | quote }}
- name: GITSPACE_SEED_HOME
  value: {{ .Values.persistence.seedHome | quote }}
- name: GITSPACE_IMAGE
  value: {{ include "gitspace.image" . | quote }}
- name: GITSPACE_REFRESH_ON_UPGRADE
  value: {{ .Values.persistence.refreshOnUpgrade | quote }}
{{- with .Values.persistence.paths }}
# persistence.paths, one a line: seeded into the volume's .gitspace/persist once each.
- name: GITSPACE_PERSIST_PATHS
  value: {{ join "\n" . | quote }}
{{- end }}
- name: REPO_NAME
  value: {{ include "gitspace.model.repoName" . | quote }}
{{- end -}}

{{/* containerEnv as env entries (Docker sets it on the container, so every exec sees it). */}}
{{/*
The git credential helper of the running gitspace (repo.credentials.inGitspace): git config given
through the environment (GIT_CONFIG_COUNT/KEY/VALUE, git 2.31+; no file in /etc or HOME is
written or hidden), scoped to the repository's scheme://host so no other host is ever sent the
password. The helper reads the mounted Secret at each use. Empty unless an http(s) repository has a
credentials Secret: ssh URLs authenticate with keys.
*/}}
{{- define "gitspace.gitCredentialScope" -}}
{{- if and .Values.repo.credentials.existingSecret .Values.repo.credentials.inGitspace -}}
{{- regexReplaceAll "^(https?://)[^@/]*@" (regexFind "^https?://[^/]+" .Values.repo.url) "${1}" -}}
{{- end -}}
{{- end -}}
{{- define "gitspace.gitCredentialEnv" -}}
{{- with include "gitspace.gitCredentialScope" . -}}
- name: GIT_CONFIG_COUNT
  value: "1"
- name: GIT_CONFIG_KEY_0
  value: {{ printf "credential.%s.helper" . | quote }}
- name: GIT_CONFIG_VALUE_0
  value: {{ printf "%s/git/git-credential-gitspace.sh %s" (include "gitspace.scriptsDir" $) (include "gitspace.credentialsDir" $) | quote }}
{{- end -}}
{{- end -}}

{{- define "gitspace.containerEnv" -}}
{{- range $k, $v := .Values.devcontainer.containerEnv }}
- name: {{ $k | quote }}
  value: {{ $v | quote }}
{{- end }}
{{- end -}}

{{/*
Lifecycle hook files, as a dict "postCreateCommand__00-name" -> command. docs/architecture.md:
one command per file, run with /bin/sh -c; files with the same NN in one folder run in parallel.
string -> 00-command; array -> 00-command, elements joined by spaces (as Docker Gitspace);
object -> one 00-{key} file per entry (the devcontainer object form runs its entries in parallel).
*/}}
{{- define "gitspace.hookFiles" -}}
{{- $files := dict -}}
{{- range $hook := list "postCreateCommand" "postStartCommand" -}}
{{- $cmd := index $.Values.devcontainer $hook -}}
{{- if kindIs "map" $cmd -}}
{{- range $key, $entry := $cmd -}}
{{- $name := regexReplaceAll "[^A-Za-z0-9._-]" $key "_" | trunc 200 -}}
{{- $file := printf "%s__00-%s" $hook $name -}}
{{- if hasKey $files $file -}}
{{- fail (printf "devcontainer.%s: entries %q and another key both become the file name %q; rename one" $hook $key $name) -}}
{{- end -}}
{{- $line := kindIs "slice" $entry | ternary (join " " $entry) $entry -}}
{{- if $line -}}{{- $_ := set $files $file $line -}}{{- end -}}
{{- end -}}
{{- else if kindIs "slice" $cmd -}}
{{- if $cmd -}}{{- $_ := set $files (printf "%s__00-command" $hook) (join " " $cmd) -}}{{- end -}}
{{- else if $cmd -}}
{{- $_ := set $files (printf "%s__00-command" $hook) (toString $cmd) -}}
{{- end -}}
{{- end -}}
{{- toJson $files -}}
{{- end -}}

{{/* Scripts ConfigMap keys: files/scripts/a/b.sh -> a__b.sh (keys cannot hold "/"). */}}
{{- define "gitspace.scriptKey" -}}
{{- trimPrefix "files/scripts/" . | replace "/" "__" -}}
{{- end -}}

{{/* The scripts volume: the shared ConfigMap, its flat keys mapped back to the tree (_scripts.gen.tpl). */}}
{{- define "gitspace.scriptsVolume" -}}
- name: scripts
  configMap:
    name: {{ include "gitspace.scriptsConfigMap" . }}
    defaultMode: 0555
    items:
      {{- range $path := splitList "\n" (include "gitspace.scriptPaths" .) }}
      - key: {{ include "gitspace.scriptKey" $path }}
        path: {{ $path }}
      {{- end }}
{{- end -}}

{{/*
The shared scripts are there, of this chart's version, with every file: checked on helm
install/upgrade. lookup returns nothing under helm template, --dry-run without a cluster and GitOps
tools: there the list of ConfigMaps is empty too, so the check is skipped and the mount renders as
it is (the shared chart is then deployed beside the gitspaces, e.g. by the same GitOps app).
*/}}
{{- define "gitspace.scriptsCheck" -}}
{{- if .Values.scripts.check -}}
{{- $name := include "gitspace.scriptsConfigMap" . -}}
{{- $cm := lookup "v1" "ConfigMap" .Release.Namespace $name -}}
{{- $install := printf "install the shared scripts once in this namespace: helm install gitspace-scripts-%s <chart gitspace-scripts, version %s> -n %s (from a checkout: charts/gitspace-scripts; or: gitspace-chart install-shared -n %s); or set scripts.check=false if they come another way" (.Chart.Version | replace "." "-") .Chart.Version .Release.Namespace .Release.Namespace -}}
{{- if not $cm -}}
{{- if lookup "v1" "ConfigMap" .Release.Namespace "" -}}
{{- fail (printf "scripts.configMap: ConfigMap %q (the gitspace's in-container scripts) is not in namespace %s; %s" $name .Release.Namespace $install) -}}
{{- end -}}
{{- else -}}
{{- $version := get ($cm.metadata.labels | default dict) "app.kubernetes.io/version" -}}
{{- if ne $version .Chart.Version -}}
{{- fail (printf "scripts.configMap: ConfigMap %q holds the scripts of version %q, this chart needs %q; %s" $name $version .Chart.Version $install) -}}
{{- end -}}
{{- range $path := splitList "\n" (include "gitspace.scriptPaths" .) -}}
{{- if not (hasKey ($cm.data | default dict) (include "gitspace.scriptKey" $path)) -}}
{{- fail (printf "scripts.configMap: ConfigMap %q has no %s (key %s); %s" $name $path (include "gitspace.scriptKey" $path) $install) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/*
Rules the schema cannot express. Each failure names the field and the fix. Included once by
deployment.yaml, so `helm template`/`install` stop before anything is created.
*/}}
{{- define "gitspace.validate" -}}
{{- include "gitspace.model.rules" . -}}
{{- $v := .Values -}}
{{- $proto := include "gitspace.model.ideProtocol" . -}}
{{- /* The URL reaches git's argv and .git/config: no password in it, and a host that ssh cannot read as an option. The URL is not quoted back here: it may hold a secret. */ -}}
{{- if regexMatch "^[A-Za-z][A-Za-z0-9+.-]*://[^/@]*:[^/@]*@" $v.repo.url -}}
{{- fail "repo.url: the URL carries a password or token (user:password@host), which git would keep in .git/config; remove it from the URL and put the credentials in a Secret named by repo.credentials.existingSecret" -}}
{{- end -}}
{{- if and (regexMatch "^[A-Za-z][A-Za-z0-9+.-]*://" $v.repo.url) (not (regexMatch "^[A-Za-z][A-Za-z0-9+.-]*://([^/@]*@)?([A-Za-z0-9]|\\[)" $v.repo.url)) -}}
{{- fail (printf "repo.url: %q has no host (the part after :// must start with a host name; ssh reads a leading '-' as an option); use a URL such as ssh://git@host/path" $v.repo.url) -}}
{{- end -}}
{{- if and (eq $proto "ssh") (not $v.ssh.authorizedKeysSecret) -}}
{{- fail (printf "ssh.authorizedKeysSecret: ide.type %s is reached over SSH with public keys only; create a Secret with key authorized_keys and set ssh.authorizedKeysSecret to its name" $v.ide.type) -}}
{{- end -}}
{{- $home := include "gitspace.model.home" . -}}
{{- $paths := $v.persistence.paths -}}
{{- range $p := $paths -}}
{{- if or (eq $p $home) (hasPrefix (printf "%s/" $home) $p) (hasPrefix (printf "%s/" $p) $home) -}}
{{- fail (printf "persistence.paths: %q overlaps HOME (%s), which the volume already holds; remove it" $p $home) -}}
{{- end -}}
{{- range $o := $paths -}}
{{- if hasPrefix (printf "%s/" $o) $p -}}
{{- fail (printf "persistence.paths: %q is inside %q, which is already persisted; keep only %q" $p $o $o) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- if and (eq $v.security.mode "restricted") (eq (int $v.user.uid) 0) -}}
{{- fail "user.uid: 0 (root) cannot run under security.mode restricted (Pod Security restricted requires runAsNonRoot); use a non-root remote user or security.mode standard" -}}
{{- end -}}
{{- if eq $v.ide.auth "password" -}}
{{- if ne $proto "http" -}}
{{- fail (printf "ide.auth: password applies to the web IDE (vs_code_web) only; ide.type %s uses SSH keys (ssh.authorizedKeysSecret); set ide.auth to none" $v.ide.type) -}}
{{- end -}}
{{- if not $v.ide.passwordSecret -}}
{{- fail "ide.passwordSecret: ide.auth is password but no Secret is named; create a Secret with key password and set ide.passwordSecret, or set ide.auth to none" -}}
{{- end -}}
{{- end -}}
{{- include "gitspace.validateExposure" . -}}
{{- end -}}

{{/*
The runtime report of the main container, $0 = the volume's mount point, $1 = who runs it (its
postStart hook, or start.sh with prepare beside), named in its warning: what the container really
got, read back by the helm test pod from the volume (a test pod cannot exec). Best effort: it always
exits 0 (a hook that fails makes kubelet kill the container: FailedPostStartHook). On a full or
read-only volume it writes the report to the run dir instead, leaves no temp file, and says why on
its output and in the container log (PID 1's stderr); a missing report fails `helm test` instead.
*/}}
{{- define "gitspace.runtimeReport" -}}
d="$0/.gitspace"; r="${GITSPACE_RUN_DIR:-/gitspace/run}"
m() { if awk -v t="$1" '$5 == t { f = 1 } END { exit !f }' /proc/self/mountinfo; then echo yes; else echo no; fi; }
report() { echo "uid=$(id -u)"; echo "gid=$(id -g)"; echo "user=$(id -un 2>/dev/null)"; echo "home=$HOME"; echo "pwd=$(pwd)"; echo "home_mount=$(m "$HOME")"; echo "workspaces_mount=$(m /workspaces)"; }
if mkdir -p "$d" 2>/dev/null && report 2>/dev/null >"$d/runtime.tmp" && mv -f "$d/runtime.tmp" "$d/runtime" 2>/dev/null; then echo "runtime report written to $d/runtime"; exit 0; fi
rm -f "$d/runtime.tmp" 2>/dev/null
msg="$1: the runtime report could not be written to $d (volume full or read-only: $(df -P "$0" 2>/dev/null | awk 'NR == 2 { print $4 * 1024 " bytes free" }'))"
if mkdir -p "$r" 2>/dev/null && report 2>/dev/null >"$r/runtime"; then msg="$msg; written to $r/runtime"; fi
echo "$msg"; echo "$(date -u +%Y-%m-%dT%H:%M:%SZ) [gitspace] WARN: $msg" 2>/dev/null >/proc/1/fd/2
exit 0
{{- end -}}

{{/*
The main container's command in rescue mode: one line in the log saying what this is and how to
get in and out, then a sleep loop that stops at once on SIGTERM. /bin/sh only: nothing of the
gitspace's scripts runs, and nothing is written.
*/}}
{{- define "gitspace.rescueCommand" -}}
echo "[gitspace] RESCUE MODE: no init steps, no IDE; HOME=$HOME ($(df -P "$HOME" | awk 'NR == 2 { print $4 * 1024 }') bytes free). Get in: kubectl -n {{ .Release.Namespace }} exec -it deploy/{{ include "gitspace.fullname" . }} -c gitspace -- bash; back to normal: gitspace-chart rescue {{ .Release.Name }} -n {{ .Release.Namespace }} --off"
trap 'exit 0' TERM INT
while :; do sleep 3600 & wait $!; done
{{- end -}}

{{/* A size as the chart takes it (N Mi|Gi|Ti) in MiB; 0 for anything else. */}}
{{- define "gitspace.sizeMi" -}}
{{- $m := regexFind "^[0-9]+(Mi|Gi|Ti)$" (toString .) -}}
{{- if $m -}}
{{- $n := regexFind "^[0-9]+" $m | int -}}
{{- if hasSuffix "Ti" $m -}}{{ mul $n 1048576 }}{{- else if hasSuffix "Gi" $m -}}{{ mul $n 1024 }}{{- else -}}{{ $n }}{{- end -}}
{{- else -}}0{{- end -}}
{{- end -}}

{{/*
persistence.size against the release's existing claim (ctx, pvc from lookup; nothing to compare on
install or with helm template): growing needs a StorageClass with allowVolumeExpansion (else the
API server refuses the claim half-way through the upgrade), and a claim never shrinks. Each refusal
names the field, the sizes and the way out; nothing is applied.
*/}}
{{- define "gitspace.checkResize" -}}
{{- $want := .ctx.Values.persistence.size -}}
{{- $have := toString .pvc.spec.resources.requests.storage -}}
{{- $wm := include "gitspace.sizeMi" $want | int -}}
{{- $hm := include "gitspace.sizeMi" $have | int -}}
{{- if and $hm (gt $wm $hm) -}}
{{- $scName := default "" .pvc.spec.storageClassName -}}
{{- $sc := dict -}}
{{- if $scName }}{{ $sc = lookup "storage.k8s.io/v1" "StorageClass" "" $scName }}{{ end -}}
{{- if not (and $scName $sc.allowVolumeExpansion) -}}
{{- fail (printf "persistence.size: the claim %s cannot grow from %s to %s: StorageClass %s does not allow volume expansion (allowVolumeExpansion is not true); nothing was changed. Keep persistence.size at %s, or copy the data to a bigger volume (docs/chart.md, When the volume is full)" .pvc.metadata.name $have $want (default "(none)" $scName) $have) -}}
{{- end -}}
{{- else if and $hm (lt $wm $hm) -}}
{{- fail (printf "persistence.size: %s is smaller than the claim %s (%s); a volume never shrinks: keep persistence.size at %s" $want .pvc.metadata.name $have $have) -}}
{{- end -}}
{{- end -}}

{{/* Test pods: Pod Security restricted; as the gitspace user unless that is root (then 65534). */}}
{{- define "gitspace.testSecurityContext" -}}
{{- $uid := int .Values.user.uid | default 65534 -}}
runAsUser: {{ $uid }}
runAsGroup: {{ int .Values.user.gid }}
runAsNonRoot: true
allowPrivilegeEscalation: false
capabilities:
  drop: ["ALL"]
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/*
Exposure (ingress, httpRoute): one host per gitspace from a pattern with placeholders, so a
platform sets it once per team (e.g. {{release}}.{{namespace}}.dev.example.com). Plain string
replacement, never `tpl`: a value cannot run template code. Call with
(dict "root" $ "pattern" PATTERN "field" "ingress.host"); fails naming the field when the
result is no DNS name.
*/}}
{{- define "gitspace.exposeName" -}}
{{- $v := .root.Values -}}
{{- $out := .pattern -}}
{{- $out = replace "{{release}}" .root.Release.Name $out -}}
{{- $out = replace "{{namespace}}" .root.Release.Namespace $out -}}
{{- $out = replace "{{id}}" (include "gitspace.id" .root) $out -}}
{{- $out = replace "{{space}}" ($v.gitspace.spacePath | replace "/" "-" | lower) $out -}}
{{- $out = replace "{{user}}" ($v.gitspace.userId | lower) $out -}}
{{- if or (gt (len $out) 253) (not (regexMatch "^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*$" $out)) -}}
{{- fail (printf "%s: %q becomes %q for this release, which is not a DNS name (lowercase letters, digits, '-' and '.', labels of at most 63); change the pattern or the value a placeholder reads" .field .pattern $out) -}}
{{- end -}}
{{- $out -}}
{{- end -}}

{{/* Rules of the exposure values (ingress, httpRoute, tcpRoute); included by gitspace.validate. */}}
{{- define "gitspace.validateExposure" -}}
{{- $v := .Values -}}
{{- $proto := include "gitspace.model.ideProtocol" . -}}
{{- range $field := list "ingress" "httpRoute" -}}
{{- $e := get $v $field -}}
{{- if $e.enabled -}}
{{- if ne $proto "http" -}}
{{- fail (printf "%s.enabled: ide.type %s is reached over SSH, which an %s cannot carry (HTTP only); set %s.enabled to false and expose SSH with service.type LoadBalancer or tcpRoute (docs/exposure.md)" $field $v.ide.type $field $field) -}}
{{- end -}}
{{- if not $e.host -}}
{{- fail (printf "%s.host: %s is enabled but names no host; set a host pattern such as {{release}}.{{namespace}}.dev.example.com" $field $field) -}}
{{- end -}}
{{- if and (ne $v.ide.auth "password") (not $e.allowUnauthenticated) (or (eq $field "httpRoute") (not $e.annotations)) -}}
{{- fail (printf "%s.allowUnauthenticated: the IDE (a shell as the user) would be reachable at its host with no login; set ide.auth to password (ide.passwordSecret)%s, or set %s.allowUnauthenticated to true if the network in front authenticates" $field (ternary ", or put an auth proxy in front with ingress.annotations (docs/exposure.md)" "" (eq $field "ingress")) $field) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- if and $v.httpRoute.enabled (not $v.httpRoute.parentRefs) -}}
{{- fail "httpRoute.parentRefs: the HTTPRoute attaches to no Gateway; set httpRoute.parentRefs to [{name: GATEWAY, namespace: ITS_NAMESPACE}]" -}}
{{- end -}}
{{- if $v.tcpRoute.enabled -}}
{{- if eq $proto "http" -}}
{{- fail (printf "tcpRoute.enabled: ide.type %s is the web IDE (HTTP), which needs no TCP route; set tcpRoute.enabled to false and use httpRoute or ingress (docs/exposure.md)" $v.ide.type) -}}
{{- end -}}
{{- if not $v.tcpRoute.parentRefs -}}
{{- fail "tcpRoute.parentRefs: the TCPRoute attaches to no Gateway; set tcpRoute.parentRefs to [{name: GATEWAY, namespace: ITS_NAMESPACE, sectionName: ITS_TCP_LISTENER}]" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/*
"true" when the clone step runs in the gitspace container (start.sh, before the IDE) instead of its
own init container: always, except when a repo Secret must stay out of the gitspace container
(repo.credentials.inGitspace false). docs/start-path.md has the reasoning.
*/}}
{{- define "gitspace.cloneAtStart" -}}
{{- if not (and .Values.repo.credentials.existingSecret (not .Values.repo.credentials.inGitspace)) -}}true{{- end -}}
{{- end -}}

{{/* What the clone step reads (gitspace-init.sh user-setup), in the clone init container or the gitspace container. */}}
{{- define "gitspace.cloneEnv" -}}
- name: REPO_URL
  value: {{ .Values.repo.url | quote }}
- name: REPO_BRANCH
  value: {{ .Values.repo.branch | quote }}
{{- if .Values.repo.credentials.existingSecret }}
- name: GIT_CREDENTIALS_DIR
  value: {{ include "gitspace.credentialsDir" . | quote }}
{{- end }}
- name: GIT_USER_NAME
  value: {{ .Values.git.userName | quote }}
- name: GIT_USER_EMAIL
  value: {{ .Values.git.userEmail | quote }}
- name: GITSPACE_EXPECT_REMOTE_USER
  value: {{ .Values.user.remoteUser | quote }}
# The devcontainer.json fields the user was resolved from: the clone step compares, never resolves.
- name: GITSPACE_CHECK_DEVCONTAINER_USER
  value: {{ .Values.user.devcontainerJson.check | quote }}
- name: GITSPACE_DEVCONTAINER_REMOTE_USER
  value: {{ .Values.user.devcontainerJson.remoteUser | quote }}
- name: GITSPACE_DEVCONTAINER_CONTAINER_USER
  value: {{ .Values.user.devcontainerJson.containerUser | quote }}
- name: GITSPACE_IMAGE
  value: {{ include "gitspace.image" . | quote }}
{{- end -}}

{{/*
passwd/group rendered by `gitspace-chart values` (user.etcFiles: the chart's own create-user script
run in a throwaway container of the image), for exactly these values: renderedFor names the user,
uid, gid, HOME and image they were rendered for (gitspace.etcKey). "mount": they go over the
gitspace container's /etc/passwd and /etc/group from a ConfigMap; "image": the image's own entries
already match, nothing is mounted (also restricted mode, where prepare never created the user and
the image's files were what it exported); empty: not rendered for these values (values by hand, or
changed since): prepare stays an init container and writes them, as before (docs/start-path.md).
*/}}
{{- define "gitspace.etcKey" -}}
{{- printf "%s:%d:%d:%s@%s" .Values.user.remoteUser (int .Values.user.uid) (int .Values.user.gid) (include "gitspace.model.home" .) (include "gitspace.image" .) -}}
{{- end -}}

{{- define "gitspace.etcRendered" -}}
{{- $e := .Values.user.etcFiles | default dict -}}
{{- if and $e.renderedFor (eq $e.renderedFor (include "gitspace.etcKey" .)) -}}
{{- if and (ne .Values.security.mode "restricted") (or $e.passwd $e.group) -}}mount{{- else -}}image{{- end -}}
{{- end -}}
{{- end -}}

{{/*
"true" when prepare runs as a regular container beside `gitspace` (no init container on the start
path): passwd/group rendered for these values, layout home, no persistence.paths (the kubelet makes
their subPath folders in .gitspace before the gitspace container starts, which would make a new
volume look non-empty to the seeding), not rescue. Otherwise prepare stays an init container.
*/}}
{{- define "gitspace.prepareBeside" -}}
{{- if and (include "gitspace.etcRendered" .) (ne .Values.compat.layout "legacy") (not .Values.persistence.paths) (not .Values.rescue) -}}true{{- end -}}
{{- end -}}

{{- define "gitspace.etcConfigMap" -}}{{ include "gitspace.fullname" . }}-etc{{- end -}}
{{- define "gitspace.prepareSyncDir" -}}/gitspace/prepare{{- end -}}

{{/* The /etc/passwd and /etc/group mounts: prepare's emptyDir (init container), the generator's
ConfigMap (beside, "mount"), or none (beside, "image": the image's own files). */}}
{{- define "gitspace.etcMounts" -}}
{{- if or (not .beside) (eq .etc "mount") -}}
- name: gitspace-etc
  mountPath: /etc/passwd
  subPath: passwd
  readOnly: true
- name: gitspace-etc
  mountPath: /etc/group
  subPath: group
  readOnly: true
{{- end -}}
{{- end -}}
