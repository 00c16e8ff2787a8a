#!/usr/bin/env bash
# The whole suite (make test): lint, the lab's real components brought up,
# every test of both modules run against them, then the lab taken down and
# checked to leave no process or port behind.
set -euo pipefail
cd "$(dirname "$0")/.."

need() { command -v "$1" >/dev/null 2>&1; }
missing=()
for tool in tmux ssh ansible-playbook prometheus prometheus-alertmanager; do
	need "$tool" || missing+=("$tool")
done
if ((${#missing[@]})); then
	if [ "$(id -u)" = 0 ] && need apt-get; then
		echo "== installing Debian packages for: ${missing[*]}"
		apt-get update -qq
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq tmux openssh-client openssh-server \
			ansible python3-ansible-runner prometheus prometheus-alertmanager prometheus-node-exporter
	else
		echo "missing: ${missing[*]}. Install them with:" >&2
		echo "  sudo apt-get install tmux openssh-client openssh-server ansible python3-ansible-runner prometheus prometheus-alertmanager prometheus-node-exporter" >&2
		exit 1
	fi
fi

echo "== lint"
make --no-print-directory lint

echo "== lab up"
lab() { (cd lab && go run ./cmd/vigil-lab "$@"); }
trap 'lab down >/dev/null 2>&1 || true' EXIT
lab up
set -a
# shellcheck disable=SC1090
. "$(lab env --path)"
set +a
# Tests that need the lab fail, rather than skip, when it is missing.
export VIGIL_LAB_REQUIRED=1

echo "== tests (vigil)"
go test -count=1 ./...
echo "== tests (lab)"
(cd lab && go test -count=1 ./...)

echo "== lab down"
trap - EXIT
lab down
# Every lab process runs with a path inside the state directory on its
# command line; none may survive down.
if left=$(pgrep -af -- "$VIGIL_LAB_STATE"); then
	echo "lab down left processes running:" >&2
	echo "$left" >&2
	exit 1
fi
(cd lab && VIGIL_LAB_EXPECT_DOWN=1 go test -count=1 -run TestLabIsDown ./smoke)
echo "lab down: nothing left running"
