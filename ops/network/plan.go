package network

import (
	"context"
	"strings"

	"github.com/vigilops/vigil/ops/access"
)

// Guarded changes, with their least role and danger, so that help,
// read-only mode and confirmations follow from data.
var (
	ActFirewall      = access.Action{Name: "change firewall", MinRole: access.Operator, Mutates: true}
	ActOpenToWorld   = access.Action{Name: "open a port to the world", MinRole: access.Operator, Mutates: true, Dangerous: true}
	ActDeleteFW      = access.Action{Name: "delete firewall", MinRole: access.Operator, Mutates: true, Dangerous: true}
	ActLoadBalancer  = access.Action{Name: "change load balancer", MinRole: access.Operator, Mutates: true}
	ActDetachBackend = access.Action{Name: "detach a load balancer backend", MinRole: access.Operator, Mutates: true, Dangerous: true}
	ActRecord        = access.Action{Name: "change DNS record", MinRole: access.Operator, Mutates: true}
	ActReplaceRecord = access.Action{Name: "replace DNS record", MinRole: access.Operator, Mutates: true, Dangerous: true}
	ActRemoveRecord  = access.Action{Name: "remove DNS record", MinRole: access.Operator, Mutates: true, Dangerous: true}
	ActReservedIP    = access.Action{Name: "change reserved IP", MinRole: access.Operator, Mutates: true}
)

// Plan is a change worked out before it is made: what will be created,
// changed and removed, what to beware of, or why it is refused. Apply it
// with Service.Apply; confirm it first when Action is dangerous.
type Plan struct {
	Action access.Action
	// Entry and Target name the change in the journal: "firewall.create",
	// "firewall:web".
	Entry, Target string
	Title         string // "Create firewall web"
	Create        []string
	Change        []string
	Remove        []string
	Warnings      []string
	// Danger says why the change is confirmed ("opens tcp 80 to the
	// world"); empty when it is not dangerous.
	Danger string
	// Refusal, when set, is why the change may not be made (it would cut
	// the bastion's SSH); Apply journals and returns it.
	Refusal error
	apply   func(ctx context.Context) error
}

// Empty reports whether the plan changes nothing.
func (p Plan) Empty() bool {
	return len(p.Create)+len(p.Change)+len(p.Remove) == 0 || p.apply == nil
}

// Confirmation is the question a dangerous plan asks.
func (p Plan) Confirmation() access.Confirmation {
	title := p.Title + "?"
	if p.Danger != "" {
		title = p.Title + ": " + p.Danger + "?"
	}
	return access.Confirmation{Action: p.Action, Entry: p.Entry, Target: p.Target, Title: title}
}

// Lines is the plan as text, one change a line, Terraform's way: + to
// create, ~ to change, - to remove, ! for warnings and the refusal.
func (p Plan) Lines() []string {
	var out []string
	for _, l := range p.Create {
		out = append(out, "+ "+l)
	}
	for _, l := range p.Change {
		out = append(out, "~ "+l)
	}
	for _, l := range p.Remove {
		out = append(out, "- "+l)
	}
	for _, l := range p.Warnings {
		out = append(out, "! "+l)
	}
	if p.Refusal != nil {
		out = append(out, "! refused: "+p.Refusal.Error())
	}
	if len(out) == 0 {
		out = append(out, "nothing to change")
	}
	return out
}

// String is the plan with its title.
func (p Plan) String() string {
	return p.Title + "\n  " + strings.Join(p.Lines(), "\n  ")
}

func (p Plan) params() map[string]string {
	m := map[string]string{}
	if len(p.Create) > 0 {
		m["create"] = strings.Join(p.Create, "; ")
	}
	if len(p.Change) > 0 {
		m["change"] = strings.Join(p.Change, "; ")
	}
	if len(p.Remove) > 0 {
		m["remove"] = strings.Join(p.Remove, "; ")
	}
	return m
}
