// Package components holds what every pane shares, so that a pane keeps
// only what is its own:
//
//   - Base: what every pane embeds: context, title, key map, size, the
//     feed of its service's changes and its prompt (base.go);
//   - Table: typed rows in declared columns, with layout, cut rules,
//     filter, sort and a cursor that follows its row (table.go);
//   - Cursor and Nav: list movement for what is not a Table (nav.go);
//   - Cell and Age: a value fitted to a column, a short age (cell.go, age.go);
//   - Feed: a pane's subscription to a service's changes (feed.go);
//   - Prompt: a one-line question inside a pane (prompt.go);
//   - Confirm and Box: the confirmation dialog (confirm.go);
//   - FilterBar: the / filter (filter.go);
//   - Registry: the : command palette and its completion (palette.go, parse.go);
//   - toasts, tabs, bars and overlays for the shell (toast.go, layout.go).
package components
