#!/usr/bin/env bash
# The whole suite (make test): lint; every test that needs no lab under the
# race detector; the unit suites with the test clock far ahead and far
# behind; then the lab's real components brought up, every test of both
# modules run against them (VIGIL_TEST_ROUNDS times, 1 by default), the lab
# taken down and checked to leave no process or port behind. It ends with a
# summary from test/report: counts, every skip with its reason, and a failure
# for a skip that test/skips.allow does not list.
set -euo pipefail
cd "$(dirname "$0")/.."

need() { command -v "$1" >/dev/null 2>&1; }
missing=()
for tool in tmux ssh sshd ansible-playbook ansible-inventory prometheus promtool prometheus-alertmanager amtool prometheus-node-exporter; do
	need "$tool" || [ -x "/usr/sbin/$tool" ] || [ -x "/usr/bin/$tool" ] || missing+=("$tool")
done
packages="tmux openssh-client openssh-server ansible python3-ansible-runner prometheus prometheus-alertmanager prometheus-node-exporter"
if ((${#missing[@]})); then
	if [ "$(id -u)" = 0 ] && need apt-get; then
		echo "== installing Debian packages for: ${missing[*]}"
		apt-get update -qq
		# shellcheck disable=SC2086
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $packages >/dev/null
	else
		echo "missing: ${missing[*]}. Install them with:" >&2
		echo "  sudo apt-get install $packages" >&2
		exit 1
	fi
fi

out=$(mktemp -d "${TMPDIR:-/tmp}/vigil-test.XXXXXX")
status=0
report() { go run ./test/report "$@"; }
# phase NAME DIR ENV... -- GO-TEST-ARGS: one go test -json run, streamed as
# it goes and kept for the summary; a failure is remembered, not fatal.
phase() {
	local name=$1 dir=$2
	shift 2
	local envs=()
	while [ "$1" != "--" ]; do envs+=("$1"); shift; done
	shift
	echo "== $name: (cd $dir; ${envs[*]} go test $*)"
	local t0=$SECONDS
	if ! (cd "$dir" && env "${envs[@]}" go test -json "$@" 2>&1) | tee "$out/$name.json" | report stream; then
		status=1
	fi
	echo "-- $name took $((SECONDS - t0)) s"
	phases+=("$name=$out/$name.json")
}
phases=()

echo "== lint"
make --no-print-directory lint

# Without the lab: lab tests skip here and run in the lab phase. An empty
# state directory keeps them from finding a lab left up by hand.
# The lab's settings are cleared too, should they be exported by hand.
nolab=()
for v in KUBECONFIG VIGIL_CONFIG DIGITALOCEAN_ACCESS_TOKEN DIGITALOCEAN_API_URL VIGIL_LAB_PROMETHEUS_URL \
	VIGIL_LAB_ALERTMANAGER_URL VIGIL_LAB_SSH_KEY VIGIL_LAB_WEBHOOK_TOKEN_FILE VIGIL_LAB_REQUIRED \
	VIGIL_LAB_POSTGRES_DSN VIGIL_LAB_POSTGRES_DSN_FILE VIGIL_LAB_ALERTMANAGER_2_URL; do
	nolab+=(-u "$v")
done
nolab+=(VIGIL_LAB_STATE="$(mktemp -d "$out/nolab.XXXXXX")")
phase race . "${nolab[@]}" -- -race -count=1 ./...
phase race-lab lab "${nolab[@]}" -- -race -count=1 ./emulator ./exporter ./internal/... ./kube ./monitoring
# A date bomb fails today, not on the day it goes off: the fixture clock
# (internal/testclock) 28 years ahead and behind (28 years keep weekdays).
for years in 28 -28; do
	phase "clock$years" . "${nolab[@]}" VIGIL_TEST_CLOCK_YEARS="$years" -- -count=1 -short ./internal/... ./ops/... ./ui/... ./cmd/...
done

echo "== lab up"
lab() { (cd lab && go run ./cmd/vigil-lab "$@"); }
trap 'lab down >/dev/null 2>&1 || true' EXIT
lab up
set -a
# shellcheck disable=SC1090
. "$(lab env --path)"
set +a
# Tests that need the lab or a tool fail, rather than skip, when it is missing.
export VIGIL_LAB_REQUIRED=1

alone='^(TestFrozenAPIServer|TestPostgresOutage|TestLabAlertmanagerPair)$'
for round in $(seq 1 "${VIGIL_TEST_ROUNDS:-1}"); do
	suffix=""
	[ "$round" = 1 ] || suffix="-$round"
	phase "vigil$suffix" . -- -count=1 -skip "$alone" ./...
	phase "lab$suffix" lab -- -count=1 ./...
	# Tests that stop a lab component (the API server, PostgreSQL, an
	# Alertmanager) run alone,
	# with nothing else on the lab.
	phase "alone$suffix" . -- -count=1 -run "$alone" ./integrations/kubernetes ./ops/audit ./integrations/alertmanager
done

echo "== lab down"
trap - EXIT
lab down
# Every lab process runs with a path inside the state directory on its
# command line; none may survive down.
if left=$(pgrep -af -- "$VIGIL_LAB_STATE"); then
	echo "lab down left processes running:" >&2
	echo "$left" >&2
	status=1
fi
phase down lab VIGIL_LAB_EXPECT_DOWN=1 -- -count=1 -run TestLabIsDown ./smoke

report summary -allow test/skips.allow "${phases[@]}" || status=1
rm -rf "$out"
exit "$status"
