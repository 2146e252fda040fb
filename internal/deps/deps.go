package deps
import (
 _ "gorm.io/gorm"
 _ "gorm.io/driver/postgres"
 _ "gorm.io/plugin/dbresolver"
 _ "github.com/google/wire"
 _ "github.com/stretchr/testify/require"
 _ "go.uber.org/goleak"
 _ "gopkg.in/yaml.v3"
 _ "github.com/jackc/pgx/v5/stdlib"
 _ "github.com/pressly/goose/v3"
 _ "github.com/prometheus/client_golang/prometheus"
)
