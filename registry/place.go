package registry

import (
	"errors"
	"fmt"
	"reflect"
)

// ErrPlaced is the error of placing a model on a second cluster.
var ErrPlaced = errors.New("registry: model already placed on another cluster")

// Place registers models (see [Registry.Register]) and places them on the
// named cluster: the data layer sends their statements there. A model
// placed on a cluster already may be placed there again; placing it on
// another is an error wrapping [ErrPlaced] (nothing of the call is placed).
func (r *Registry) Place(cluster string, models ...any) error {
	if cluster == "" {
		return errors.New("registry: Place needs a cluster name")
	}
	if err := r.Register(models...); err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	types := make([]reflect.Type, 0, len(models))
	for _, m := range models {
		t := modelType(m)
		if prev, ok := r.placed[t]; ok && prev != cluster {
			return fmt.Errorf("%w: %s is on %s, not %s", ErrPlaced, typeName(t), prev, cluster)
		}
		types = append(types, t)
	}
	if r.placed == nil {
		r.placed = make(map[reflect.Type]string)
	}
	for _, t := range types {
		r.placed[t] = cluster
	}
	return nil
}

// Place places models on the named cluster in the default registry; see
// [Registry.Place].
func Place(cluster string, models ...any) error { return defaultRegistry.Place(cluster, models...) }

// ClusterOf reports the cluster a model was placed on; ok is false when it
// was not placed (it is then on the cluster its table is configured on, or
// the default one).
func (r *Registry) ClusterOf(model any) (cluster string, ok bool) {
	if model == nil {
		return "", false
	}
	t := modelType(model)
	r.mu.RLock()
	defer r.mu.RUnlock()
	cluster, ok = r.placed[t]
	return cluster, ok
}

// ClusterOfTable reports the cluster the model of a table (the model
// registered for it) was placed on; ok is false when no placed model has
// that table. The data layer asks it for tables named in SQL text, where
// there is no model to ask ClusterOf about.
func (r *Registry) ClusterOfTable(table string) (cluster string, ok bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	e, ok := r.byTable[table]
	if !ok {
		return "", false
	}
	cluster, ok = r.placed[e.typ]
	return cluster, ok
}

func modelType(model any) reflect.Type {
	t := reflect.TypeOf(model)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t
}
