package yamlconf

import (
	"errors"
	"fmt"

	"gopkg.in/yaml.v3"
)

// checkShape refuses what no configuration file needs (package doc): aliases, merge keys,
// repeated or non-scalar keys, and mappings, lists or documents beyond lim. It runs before
// yaml.v3 decodes anything into Go values, so yaml.v3's quadratic repeated-key check only
// ever sees mappings of at most lim.MaxMappingKeys distinct keys.
func checkShape(file string, root *yaml.Node, lim Limits) error {
	nodes := 0
	// The path goes into the message, not Field, except for a repeated key: the field is the
	// key itself, the rest is about the node there.
	bad := func(n *yaml.Node, at string, format string, args ...any) error {
		msg := fmt.Sprintf(format, args...)
		if at != "" {
			msg += " (at " + at + ")"
		}
		return &Error{File: file, Line: n.Line, Err: errors.New(msg)}
	}
	// An explicit stack, not recursion: nesting depth is bounded only by the file size.
	type item struct {
		n    *yaml.Node
		path string
	}
	stack := []item{{root, ""}}
	for len(stack) > 0 {
		it := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		n := it.n
		nodes++
		if nodes > lim.MaxNodes {
			return bad(n, "", "more than %d YAML nodes: not %s", lim.MaxNodes, lim.What)
		}
		switch n.Kind {
		case yaml.AliasNode:
			return bad(n, it.path, "YAML aliases are not supported in %s", lim.What)
		case yaml.MappingNode:
			if len(n.Content)/2 > lim.MaxMappingKeys {
				return bad(n, it.path, "a mapping with more than %d keys", lim.MaxMappingKeys)
			}
			seen := make(map[string]int, len(n.Content)/2)
			for i := 0; i+1 < len(n.Content); i += 2 {
				k := n.Content[i]
				if k.Kind != yaml.ScalarNode {
					return bad(k, it.path, "a mapping key must be a plain value, not a %s", kindName(k.Kind))
				}
				if k.Tag == "!!merge" || (k.Value == "<<" && k.Style == 0) {
					return bad(k, it.path, "YAML merge keys (<<) are not supported in %s", lim.What)
				}
				if first, dup := seen[k.Value]; dup {
					return &Error{File: file, Line: k.Line, Field: join(it.path, k.Value), Err: fmt.Errorf("repeated key (first at line %d)", first)}
				}
				seen[k.Value] = k.Line
			}
			for i := len(n.Content) - 1; i >= 0; i-- {
				p := it.path
				if i%2 == 1 {
					p = join(it.path, n.Content[i-1].Value)
				}
				stack = append(stack, item{n.Content[i], p})
			}
			continue
		case yaml.SequenceNode:
			if len(n.Content) > lim.MaxSequence {
				return bad(n, it.path, "a list with more than %d entries", lim.MaxSequence)
			}
			for i := len(n.Content) - 1; i >= 0; i-- {
				stack = append(stack, item{n.Content[i], join(it.path, fmt.Sprint(i))})
			}
			continue
		}
		for i := len(n.Content) - 1; i >= 0; i-- {
			stack = append(stack, item{n.Content[i], it.path})
		}
	}
	return nil
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func kindName(k yaml.Kind) string {
	switch k {
	case yaml.MappingNode:
		return "mapping"
	case yaml.SequenceNode:
		return "list"
	case yaml.AliasNode:
		return "alias"
	}
	return "document"
}
