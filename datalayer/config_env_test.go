package datalayer

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestExpandEnv(t *testing.T) {
	t.Setenv("UNIFIEDDB_T_A", "alpha")
	t.Setenv("UNIFIEDDB_T_EMPTY", "")
	cases := []struct {
		in, want string
		unset    []string
	}{
		{"plain", "plain", nil},
		{"${UNIFIEDDB_T_A}", "alpha", nil},
		{"x-${UNIFIEDDB_T_A}-y", "x-alpha-y", nil},
		{"${UNIFIEDDB_T_A:-d}", "alpha", nil},
		{"${UNIFIEDDB_T_EMPTY:-d}", "d", nil},
		{"${UNIFIEDDB_T_EMPTY}", "", nil},
		{"${UNIFIEDDB_T_UNSET:-d}", "d", nil},
		{"${UNIFIEDDB_T_UNSET:-}", "", nil},
		{"${UNIFIEDDB_T_UNSET:-a:-b c}", "a:-b c", nil},
		{"${UNIFIEDDB_T_UNSET}", "", []string{"UNIFIEDDB_T_UNSET"}},
		{"${UNIFIEDDB_T_UNSET}${UNIFIEDDB_T_B_UNSET}${UNIFIEDDB_T_UNSET}", "", []string{"UNIFIEDDB_T_UNSET", "UNIFIEDDB_T_B_UNSET"}},
		{"$UNIFIEDDB_T_A", "$UNIFIEDDB_T_A", nil},
		{"$$", "$$", nil},
		{"a$", "a$", nil},
		{"$${UNIFIEDDB_T_A}", "$${UNIFIEDDB_T_A}", nil},
		{"$$$${UNIFIEDDB_T_A}", "$$$${UNIFIEDDB_T_A}", nil},
		{"$$${UNIFIEDDB_T_A}", "$$alpha", nil},
		{"${UNIFIEDDB_T_A", "${UNIFIEDDB_T_A", nil},
		{"${}", "${}", nil},
		{"${1A}", "${1A}", nil},
		{"${A B}", "${A B}", nil},
		{"p@$$w0rd${", "p@$$w0rd${", nil},
	}
	for _, tc := range cases {
		got, unset := ExpandEnv(tc.in)
		assert.Equal(t, tc.want, got, tc.in)
		assert.Equal(t, tc.unset, unset, tc.in)
	}
}

func TestEnvRefs(t *testing.T) {
	assert.Equal(t, []string{"A", "B"}, envRefs("${A}x${B:-1}${A}$${C}${}"))
	assert.Nil(t, envRefs("no refs $A"))
}
