package components

import "testing"

func TestCell(t *testing.T) {
	tests := []struct {
		s    string
		w    int
		want string
	}{
		{"api", 5, "api  "},
		{"api", 3, "api"},
		{"prod/api", 5, "prod…"},
		{"日本語", 5, "日本…"},
		{"日本語", 4, "日… "},
		{"\x1b[1mbold\x1b[m", 6, "\x1b[1mbold\x1b[m  "},
		{"api", 0, ""},
		{"api", -2, ""},
	}
	for _, tt := range tests {
		if got := Cell(tt.s, tt.w); got != tt.want {
			t.Errorf("Cell(%q, %d) = %q, want %q", tt.s, tt.w, got, tt.want)
		}
	}
}
