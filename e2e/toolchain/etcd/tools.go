//go:build tools

// Keeps etcd's main package in this module's build list.
package tools

import _ "go.etcd.io/etcd/server/v3"
