package main

import (
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestBadCommandLinesExit2: every verb refuses a bad command line with exit
// 2 and a message that says what was wrong, before reading any config or
// calling any system (there is none in the sandbox).
func TestBadCommandLinesExit2(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"frobnicate"}, `unknown command "frobnicate" for "vigil"`},
		{[]string{"--bogus"}, "unknown flag: --bogus: see vigil --help"},
		{[]string{"--config"}, "flag needs an argument: --config"},
		{[]string{"version", "x"}, `unknown command "x" for "vigil version"`},
		{[]string{"config"}, "config takes a subcommand"},
		{[]string{"config", "bogus"}, `unknown command "bogus" for "vigil config"`},
		{[]string{"config", "validate", "a", "b"}, "accepts at most 1 arg(s), received 2: see vigil config validate --help"},
		{[]string{"config", "init", "x"}, `unknown command "x" for "vigil config init"`},
		{[]string{"audit", "x"}, `unknown command "x" for "vigil audit"`},
		{[]string{"audit", "--since", "yesterday"}, "invalid --since"},
		{[]string{"audit", "--limit", "-1"}, "invalid --limit -1"},
		{[]string{"audit", "--limit", "many"}, `invalid argument "many" for "--limit"`},
		{[]string{"store"}, "store takes a subcommand: migrate"},
		{[]string{"store", "migrate"}, `required flag(s) "from", "to" not set`},
		{[]string{"store", "migrate", "--from", "postgres", "--to", "bolt"}, `store migrate copies --from bolt --to postgres (got --from "postgres" --to "bolt")`},
		{[]string{"store", "migrate", "x", "--from", "bolt", "--to", "postgres"}, `unknown command "x" for "vigil store migrate"`},
		{[]string{"serve", "x"}, `unknown command "x" for "vigil serve"`},
		{[]string{"serve", "--nope"}, "unknown flag: --nope: see vigil serve --help"},
		{[]string{"inventory"}, "give exactly one of --list, --host NAME or --prometheus-sd FILE"},
		{[]string{"inventory", "--list", "--host", "a"}, "give exactly one of"},
		{[]string{"inventory", "--nope"}, "unknown flag: --nope: see vigil inventory --help"},
		{[]string{"status", "x"}, `unknown command "x" for "vigil status"`},
		{[]string{"status", "--json=maybe"}, `invalid argument "maybe" for "--json"`},
		{[]string{"promote"}, "promote takes one app"},
		{[]string{"promote", "api"}, "promote needs --to"},
		{[]string{"promote", "api", "--to"}, "flag needs an argument: --to"},
		{[]string{"rollback", "api"}, "rollback needs --env"},
		{[]string{"rollback", "api", "--env", "prod", "--to-revision", "-1"}, "invalid --to-revision -1"},
		{[]string{"prepare"}, "prepare takes one environment"},
		{[]string{"prepare", "a", "b"}, "prepare takes one environment"},
		{[]string{"alerts", "x"}, `unknown command "x" for "vigil alerts"`},
		{[]string{"alerts", "--nope"}, "unknown flag: --nope: see vigil alerts --help"},
		{[]string{"ack"}, `required flag(s) "comment" not set: see vigil ack --help`},
		{[]string{"ack", "3f2a", "--comment", "c"}, `at least one of the flags in the group [for until-resolved] is required`},
		{[]string{"ack", "3f2a", "--for", "1h"}, `required flag(s) "comment" not set`},
		{[]string{"ack", "3f2a", "--for", "soon", "--comment", "c"}, `invalid argument "soon" for "--for"`},
		{[]string{"ack", "--for", "1h", "--comment", "c"}, "ack takes an alert's FINGERPRINT or --match matchers, one of the two"},
		{[]string{"ack", "3f2a", "--until-resolved", "--for", "1h", "--comment", "c"}, "--until-resolved acknowledges one alert, by FINGERPRINT, instead of --for"},
		{[]string{"ack", "--match", "a=b", "--until-resolved", "--comment", "c"}, "--until-resolved acknowledges one alert, by FINGERPRINT"},
		{[]string{"ack", "3f2a", "--match", "a=b", "--for", "1h", "--comment", "c"}, "one of the two"},
		{[]string{"ack", "a", "b", "--for", "1h", "--comment", "c"}, "accepts at most 1 arg(s), received 2"},
		{[]string{"ack", "3f2a", "--extend", "--add-comment", "--for", "1h", "--comment", "c"}, "--extend and --add-comment exclude each other"},
		{[]string{"ack", "--match", "a=b", "--extend", "--for", "1h", "--comment", "c"}, "give its FINGERPRINT"},
		{[]string{"unack"}, "accepts 1 arg(s), received 0: see vigil unack --help"},
		{[]string{"unack", "--nope", "x"}, "unknown flag: --nope"},
		{[]string{"exec"}, "requires at least 1 arg(s), only received 0"},
		{[]string{"query"}, "query takes an expression"},
		{[]string{"query", " "}, "query takes an expression"},
		{[]string{"query", "up", "--range", "soon"}, `invalid --range "soon"`},
		{[]string{"query", "up", "--json=maybe"}, `invalid argument "maybe" for "--json"`},
		{[]string{"exec", "uptime"}, "name the hosts with one of --hosts, --tag or --group"},
		{[]string{"exec", "uptime", "--hosts", "a", "--tag", "t"}, "name the hosts with one of --hosts, --tag or --group"},
		{[]string{"incident"}, "incident takes a subcommand, list, export or note"},
		{[]string{"runbook"}, "runbook takes a subcommand, list or run"},
		{[]string{"runbook", "run", "fp"}, "accepts 2 arg(s), received 1"},
		{[]string{"incident", "export"}, "accepts 1 arg(s), received 0"},
		{[]string{"incident", "export", "x", "--format", "pdf"}, `unknown --format "pdf": markdown or json`},
		{[]string{"incident", "note", "x"}, "requires at least 2 arg(s), only received 1"},
		{[]string{"incident", "list", "x"}, `unknown command "x" for "vigil incident list"`},
		{[]string{"rule"}, "rule takes a subcommand, add, delete or list"},
		{[]string{"rule", "add"}, "accepts 1 arg(s), received 0"},
		{[]string{"rule", "add", "HighLoad"}, "rule add needs --expr"},
		{[]string{"rule", "add", "HighLoad", "--expr", "node_load1", "--threshold", "lots"}, `invalid --threshold "lots"`},
		{[]string{"rule", "add", "HighLoad", "--expr", "node_load1", "--threshold", "1", "--op", "=~"}, `invalid --op "=~": one of > >= < <= == !=`},
		{[]string{"rule", "add", "HighLoad", "--expr", "up", "--for", "soon"}, `invalid argument "soon" for "--for"`},
		{[]string{"rule", "delete"}, "accepts 1 arg(s), received 0"},
		{[]string{"rule", "list", "x"}, `unknown command "x" for "vigil rule list"`},
		{[]string{"refresh-data"}, "name the target with --env and the source with --from"},
		{[]string{"refresh-data", "--env", "preprod"}, "name the target with --env and the source with --from"},
		{[]string{"refresh-data", "preprod"}, `unknown command "preprod" for "vigil refresh-data"`},
		{[]string{"logs"}, "logs takes one app"},
		{[]string{"logs", "api"}, "logs needs --env"},
		{[]string{"logs", "api", "--env", "prod", "--since", "soon"}, `invalid argument "soon" for "--since"`},
		{[]string{"logs", "api", "--env", "prod", "--since", "-1m"}, "invalid --since -1m0s"},
		{[]string{"logs", "api", "--env", "prod", "--grep", "a(b"}, `--grep "a(b" is not a valid regular expression: missing closing )`},
	} {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			sandbox(t)
			code, out, errOut := cli(t, c.args...)
			if code != 2 || out != "" || !strings.HasPrefix(errOut, "vigil: ") || !strings.Contains(errOut, c.want) {
				t.Errorf("exit %d, stdout %q, stderr %q; want exit 2 and %q", code, out, errOut, c.want)
			}
		})
	}
}

// TestHelpTextsStateExit2: the verbs whose help lists exit codes give 2 for
// bad arguments, as README does.
func TestHelpTextsStateExit2(t *testing.T) {
	for _, verb := range []string{"ack", "unack", "promote", "rollback", "prepare", "exec", "logs", "incident export", "incident note", "runbook run", "refresh-data"} {
		sandbox(t)
		code, out, _ := cli(t, append(strings.Fields(verb), "--help")...)
		if code != 0 || !strings.Contains(out, "Exit codes:") || !strings.Contains(strings.Join(strings.Fields(out), " "), "2 bad arguments") {
			t.Errorf("vigil %s --help (exit %d) does not say 2 is bad arguments:\n%s", verb, code, out)
		}
	}
}

// TestNamesCheckedBeforeTheClusters: an app name Kubernetes would refuse
// or an environment the config does not list exits 2 at once, without
// waiting for clusters (the kubeconfig here points nowhere).
func TestNamesCheckedBeforeTheClusters(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"promote", "../..", "--to", "prod"}, `invalid app name "../.."`},
		{[]string{"promote", "äpi", "--to", "prod"}, `invalid app name "äpi"`},
		{[]string{"promote", "api", "--to", "nosuch"}, `unknown environment "nosuch": `},
		{[]string{"promote", "api", "--from", "qa", "--to", "prod"}, `unknown environment "qa"`},
		{[]string{"rollback", "api", "--env", "../.."}, `unknown environment "../.."`},
		{[]string{"prepare", "staging"}, `unknown environment "staging"`},
		{[]string{"logs", "api", "--env", "staging"}, `unknown environment "staging"`},
		{[]string{"logs", "../..", "--env", "prod"}, `invalid app name "../.."`},
	} {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			dir := sandbox(t)
			cfg := filepath.Join(dir, "config", "vigil", "config.yaml")
			writeFile(t, cfg, "kubernetes:\n  kubeconfig: "+filepath.Join(dir, "absent-kubeconfig")+
				"\n  environments: [{name: dev}, {name: prod}]\naudit: {path: "+filepath.Join(dir, "j.db")+"}\n")
			start := time.Now()
			code, out, errOut := cli(t, c.args...)
			if code != 2 || out != "" || !strings.Contains(errOut, c.want) {
				t.Errorf("exit %d, stdout %q, stderr %q; want exit 2 and %q", code, out, errOut, c.want)
			}
			if strings.Contains(c.want, "unknown environment") && !strings.Contains(errOut, cfg+" lists dev, prod") {
				t.Errorf("the error does not name the file and its environments: %q", errOut)
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("took %s: the clusters were asked", d)
			}
		})
	}
}

// TestNoConfigNamesTheFile: with no config file, the message names the
// path vigil looked at.
func TestNoConfigNamesTheFile(t *testing.T) {
	for _, verb := range [][]string{{"status"}, {"alerts"}, {"serve"}, {"inventory", "--list"}} {
		dir := sandbox(t)
		want := filepath.Join(dir, "config", "vigil", "config.yaml") + ", absent) has no"
		code, _, errOut := cli(t, verb...)
		if code != 1 || !strings.Contains(errOut, want) {
			t.Errorf("vigil %v: exit %d, stderr %q; want %q", verb, code, errOut, want)
		}
	}
}

// TestRefreshDataNamesChecked: an environment the data section does not
// list, or the same one twice, exits 2 before any request.
func TestRefreshDataNamesChecked(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"refresh-data", "--env", "qa", "--from", "prod"}, `unknown environment "qa": `},
		{[]string{"refresh-data", "--env", "preprod", "--from", "staging"}, `unknown environment "staging": `},
		{[]string{"refresh-data", "--env", "preprod", "--from", "preprod"}, "--env and --from name the same environment"},
	} {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			dir := sandbox(t)
			cfg := filepath.Join(dir, "config", "vigil", "config.yaml")
			writeFile(t, cfg, "digitalocean: {api_url: 'http://127.0.0.1:9/'}\nansible: {playbook_dir: "+dir+"}\n"+
				"data:\n  playbook: scrub.yml\n  environments: [{name: prod, host: p, volume: prod-data}, {name: preprod, host: q, volume: preprod-data}]\n"+
				"audit: {path: "+filepath.Join(dir, "j.db")+"}\n")
			code, out, errOut := cli(t, c.args...)
			if code != 2 || out != "" || !strings.Contains(errOut, c.want) {
				t.Errorf("exit %d, stdout %q, stderr %q; want exit 2 and %q", code, out, errOut, c.want)
			}
			if strings.HasPrefix(c.want, "unknown") && !strings.Contains(errOut, cfg+" lists prod, preprod under data.environments") {
				t.Errorf("the error does not name the file and its environments: %q", errOut)
			}
		})
	}
}

// A bastion is named by $VIGIL_BASTION, else by its host and SSH port, so
// that two vigil serve on one host are two bastions.
func TestBastionName(t *testing.T) {
	for _, c := range []struct{ env, host, addr, want string }{
		{"", "bastion-1", "127.0.0.1:2222", "bastion-1:2222"},
		{"", "bastion-1", "[::1]:2223", "bastion-1:2223"},
		{"ams", "bastion-1", "127.0.0.1:2222", "ams"},
		{"", "bastion-1", "", "bastion-1"},
	} {
		if got := bastionName(c.env, c.host, c.addr); got != c.want {
			t.Errorf("bastionName(%q, %q, %q) = %q, want %q", c.env, c.host, c.addr, got, c.want)
		}
	}
}
