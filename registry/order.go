package registry

// ordered returns the entries in dependency order. The caller holds r.mu (read or write).
//
// It is Kahn's algorithm that always emits the earliest-registered ready entry, so unrelated
// models keep their registration order. When no entry is ready the rest form a cycle (or depend
// on one); the earliest-registered remaining entry is emitted to break it, so it always ends.
// Edges to tables that are not registered are ignored.
func (r *Registry) ordered() []*entry {
	n := len(r.entries)
	index := make(map[string]int, n)
	for i, e := range r.entries {
		index[e.table] = i
	}
	// after[i] holds the entries that must come after entry i; pending[i] counts entry i's
	// unemitted dependencies.
	after := make([][]int, n)
	pending := make([]int, n)
	edge := make(map[[2]int]bool)
	link := func(dep, dependent int) {
		if dep == dependent || edge[[2]int{dep, dependent}] {
			return
		}
		edge[[2]int{dep, dependent}] = true
		after[dep] = append(after[dep], dependent)
		pending[dependent]++
	}
	for i, e := range r.entries {
		for _, t := range e.deps {
			if j, ok := index[t]; ok {
				link(j, i)
			}
		}
		for _, t := range e.refBy {
			if j, ok := index[t]; ok {
				link(i, j)
			}
		}
	}

	out := make([]*entry, 0, n)
	done := make([]bool, n)
	for len(out) < n {
		next := -1
		for i := range n {
			if !done[i] && pending[i] == 0 {
				next = i
				break
			}
		}
		if next < 0 { // cycle: break it at the earliest-registered remaining entry
			for i := range n {
				if !done[i] {
					next = i
					break
				}
			}
		}
		done[next] = true
		out = append(out, r.entries[next])
		for _, j := range after[next] {
			pending[j]--
		}
	}
	return out
}
