// Package themes holds vigil's colour themes: a palette plus semantic
// sections, embedded as YAML, validated on load. It knows nothing of
// lipgloss; ui builds its styles from a Theme once.
package themes

// Style is one semantic style. Colours are palette names or #rrggbb.
type Style struct {
	FG        string `yaml:"fg"`
	BG        string `yaml:"bg"`
	Bold      bool   `yaml:"bold"`
	Italic    bool   `yaml:"italic"`
	Underline bool   `yaml:"underline"`
	Reverse   bool   `yaml:"reverse"`
	Faint     bool   `yaml:"faint"`
}

// Theme is a palette and the semantic sections built from it.
type Theme struct {
	Name string `yaml:"name"`
	// Extends names a theme this one starts from (user themes only):
	// only the palette entries and sections written here replace its own.
	Extends string            `yaml:"extends"`
	Dark    bool              `yaml:"dark"`
	Palette map[string]string `yaml:"palette"`

	Body   Style `yaml:"body"`
	Border struct {
		Focused Style `yaml:"focused"`
		Blurred Style `yaml:"blurred"`
	} `yaml:"border"`
	Tabs struct {
		Active   Style `yaml:"active"`
		Inactive Style `yaml:"inactive"`
	} `yaml:"tabs"`
	Table struct {
		Header   Style `yaml:"header"`
		Selected Style `yaml:"selected"`
	} `yaml:"table"`
	Status struct {
		OK      Style `yaml:"ok"`
		Warn    Style `yaml:"warn"`
		Crit    Style `yaml:"crit"`
		Unknown Style `yaml:"unknown"`
	} `yaml:"status"`
	Severity struct {
		Critical Style `yaml:"critical"`
		Warning  Style `yaml:"warning"`
		Info     Style `yaml:"info"`
	} `yaml:"severity"`
	Diff struct {
		Add    Style `yaml:"add"`
		Remove Style `yaml:"remove"`
	} `yaml:"diff"`
	Help struct {
		Key  Style `yaml:"key"`
		Desc Style `yaml:"desc"`
	} `yaml:"help"`
	Dialog struct {
		Body   Style `yaml:"body"`
		Border Style `yaml:"border"`
		Title  Style `yaml:"title"`
	} `yaml:"dialog"`
	StatusBar Style `yaml:"status_bar"`
}
