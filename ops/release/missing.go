package release

import "fmt"

// noApp says that env has no app, or that nobody can tell because env's
// cluster does not answer: a "not found" never hides an outage.
func (m *Matrix) noApp(app, env, hint string) error {
	answers := ""
	for _, e := range m.Envs {
		switch {
		case e.Env.Name != env:
		case !e.Conn.Connected && e.Conn.Err != "":
			return fmt.Errorf("cannot tell whether %s has app %q: its cluster is unreachable (%s); vigil keeps retrying", env, app, e.Conn.Err)
		case e.Conn.Connected:
			answers = " (its cluster answers)"
		}
	}
	return fmt.Errorf("%s has no app %q%s: %s", env, app, answers, hint)
}
