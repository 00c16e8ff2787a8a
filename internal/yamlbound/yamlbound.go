// Package yamlbound reads YAML from users' files (the config, themes) within
// limits, so that no file can make vigil run for minutes or out of memory:
// a size limit on the bytes, and a limit on the nodes a document expands to
// once its aliases and merge keys are followed (a "billion laughs" file of a
// few hundred bytes expands to billions). With both, decoding takes time and
// memory in proportion to at most MaxNodes nodes; no clock is needed.
package yamlbound

import (
	"fmt"
	"io"
	"os"

	"go.yaml.in/yaml/v3"
)

const (
	// MaxBytes is the largest file read: a config or theme is a few KB,
	// and yaml.v3 parses about 1 MB a second.
	MaxBytes = 256 << 10
	// MaxNodes bounds the nodes of a document with every alias expanded.
	// The example config has about 200.
	MaxNodes = 100_000
)

// ReadFile reads the file at path, refusing one larger than MaxBytes
// without reading it all.
func ReadFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxBytes+1))
	if err != nil {
		return nil, err
	}
	if len(data) > MaxBytes {
		return nil, ErrTooLarge
	}
	return data, nil
}

// ErrTooLarge is returned by ReadFile for a file over MaxBytes.
var ErrTooLarge = fmt.Errorf("larger than %d KB: a vigil config or theme is a few KB", MaxBytes>>10)

// ExpansionError locates the node whose expansion went over MaxNodes, or
// the alias that refers to a node containing itself.
type ExpansionError struct {
	Line int
	Msg  string
}

func (e *ExpansionError) Error() string { return fmt.Sprintf("line %d: %s", e.Line, e.Msg) }

// Check counts the nodes of the tree at root with every alias (merge keys
// included: their values are aliases) replaced by what it names, and fails
// once that count passes MaxNodes or an alias loops back to an enclosing
// node. It visits each node once, whatever the expansion.
func Check(root *yaml.Node) error {
	c := counter{size: map[*yaml.Node]int{}, open: map[*yaml.Node]bool{}}
	_, err := c.count(root)
	return err
}

type counter struct {
	size map[*yaml.Node]int  // expanded size of each node already counted
	open map[*yaml.Node]bool // nodes being counted: the path from the root
}

func (c *counter) count(n *yaml.Node) (int, error) {
	if s, ok := c.size[n]; ok {
		return s, nil
	}
	if c.open[n] {
		return 0, &ExpansionError{n.Line, "an alias refers to a node that contains it"}
	}
	c.open[n] = true
	defer delete(c.open, n)
	total := 1
	children := n.Content
	if n.Kind == yaml.AliasNode {
		if n.Alias == nil {
			return 0, &ExpansionError{n.Line, fmt.Sprintf("unresolved alias *%s", n.Value)}
		}
		// The alias stands for its target, not one node more.
		total, children = 0, []*yaml.Node{n.Alias}
	}
	for _, ch := range children {
		s, err := c.count(ch)
		if err != nil {
			return 0, err
		}
		if total += s; total > MaxNodes {
			return 0, &ExpansionError{n.Line, fmt.Sprintf(
				"its aliases and merge keys (<<) expand to more than %d values: write the values out, or use fewer levels of aliases", MaxNodes)}
		}
	}
	c.size[n] = total
	return total, nil
}
