package plugin

import "testing"

func TestIsSavepoint(t *testing.T) {
	for q, want := range map[string]bool{
		"SAVEPOINT sp123":                true,
		"ROLLBACK TO SAVEPOINT sp123":    true,
		"RELEASE SAVEPOINT sp_1":         true,
		"  savepoint a ":                 true,
		"SAVEPOINT":                      false,
		"SAVEPOINT 1a":                   false,
		"SAVEPOINT a; DELETE FROM users": false,
		"SAVEPOINT a b":                  false,
		"SAVEPOINT \"a\"":                false,
		"ROLLBACK":                       false,
		"INSERT INTO t VALUES (1)":       false,
		"SELECT 1 -- SAVEPOINT a":        false,
		"ROLLBACK TO SAVEPOINT a;COMMIT": false,
		"":                               false,
	} {
		if got := isSavepoint(q); got != want {
			t.Errorf("isSavepoint(%q) = %v, want %v", q, got, want)
		}
	}
}
