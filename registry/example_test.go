package registry_test

import (
	"fmt"
	"log/slog"

	"github.com/prompt-improver/unifieddb/models"
	"github.com/prompt-improver/unifieddb/registry"
)

func ExampleRegistry_Tables() {
	r := registry.New(registry.WithStrict(true))
	// Registration order does not matter: a model comes after the models its foreign keys
	// point to.
	if err := r.Register(&models.ImprovementSession{}, &models.Prompt{}, models.User{}); err != nil {
		fmt.Println(err)
	}
	fmt.Println(r.Tables())
	// Output: [users prompts improvement_sessions]
}

func ExampleRegistry_Conflicts() {
	// Not strict: the first type wins, a warning is logged and the conflict is recorded.
	r := registry.New(registry.WithLogger(slog.New(slog.DiscardHandler)))
	_ = r.Register(&Widget{}, &Gadget{})
	for _, c := range r.Conflicts() {
		fmt.Println(c.Table, "kept", c.Kept[len(pkg):], "rejected", c.Rejected[len(pkg):])
	}
	// Output: widgets kept Widget rejected Gadget
}
