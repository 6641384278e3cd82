package tenantcluster

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"log/slog"
	"sync"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/rest"

	"github.com/qumulus/terraform-provider-qumulus/internal/kube"
)

// Connection is a set of clients for a tenant API server and the kubeconfig they were
// built from. Like Kubeconfig, it never shows the credentials when printed or logged.
type Connection struct {
	*kube.Clients
	Kubeconfig *Kubeconfig
}

func (c *Connection) String() string {
	if c == nil {
		return "<nil connection>"
	}
	return "connection with " + c.Kubeconfig.String()
}

// GoString keeps %#v from printing the credentials.
func (c *Connection) GoString() string { return c.String() }

// MarshalJSON keeps JSON loggers (tflog, hclog) from printing the credentials.
func (c *Connection) MarshalJSON() ([]byte, error) { return json.Marshal(c.String()) }

// LogValue keeps log/slog from printing the credentials.
func (c *Connection) LogValue() slog.Value { return slog.StringValue(c.String()) }

// ServerVersion asks the tenant API server for its version: the cheapest request that
// proves the server answers and accepts the credentials.
func (c *Connection) ServerVersion(ctx context.Context) (string, error) {
	info, err := c.Kubernetes.Discovery().ServerVersionWithContext(ctx)
	if err != nil {
		return "", err
	}
	return info.GitVersion, nil
}

// ClientOptions tune the clients the Cache builds.
type ClientOptions struct {
	UserAgent string
	QPS       float32
	Burst     int
}

// Cache hands out one Connection per cluster and kubeconfig key for the life of a provider
// run, so that every resource working in a tenant cluster shares its clients (and their
// discovery cache). Each call reads the credentials again (two GETs on the management
// cluster) and reuses the clients while they are unchanged; once Kamaji has rotated them
// it builds new clients. Safe for concurrent use.
type Cache struct {
	reader     Reader
	options    ClientOptions
	newClients func(*rest.Config) (*kube.Clients, error)

	mu      sync.Mutex
	entries map[entryKey]*entry
}

type entryKey struct {
	cluster   Key
	secretKey string
}

type entry struct {
	mu          sync.Mutex
	fingerprint [sha256.Size]byte
	conn        *Connection
}

// NewCache returns an empty Cache that reads credentials with r.
func NewCache(r Reader, o ClientOptions) *Cache {
	return &Cache{reader: r, options: o, newClients: kube.NewClients, entries: map[entryKey]*entry{}}
}

// Kubeconfig reads the cluster's kubeconfig under secretKey (see Reader.Read) without
// building clients.
func (c *Cache) Kubeconfig(ctx context.Context, key Key, secretKey string) (*Kubeconfig, error) {
	return c.reader.Read(ctx, key, secretKey)
}

// Get returns the Connection for the cluster's kubeconfig under secretKey (see
// Reader.Read), built anew when the credentials changed since the last call.
func (c *Cache) Get(ctx context.Context, key Key, secretKey string) (*Connection, error) {
	// Reading under the entry's lock keeps a read from before a rotation from replacing
	// the clients built from a read after it.
	e := c.entry(entryKey{cluster: key, secretKey: secretKey})
	e.mu.Lock()
	defer e.mu.Unlock()
	kc, err := c.reader.Read(ctx, key, secretKey)
	if err != nil {
		return nil, err
	}
	fingerprint := sha256.Sum256(kc.Raw)
	if e.conn != nil && e.fingerprint == fingerprint {
		return e.conn, nil
	}
	clients, err := c.newClients(kc.RESTConfig(c.options.UserAgent, c.options.QPS, c.options.Burst))
	if err != nil {
		return nil, &InvalidError{Cluster: key, Secret: kc.SecretName, Key: secretKey, Err: err}
	}
	e.conn, e.fingerprint = &Connection{Clients: clients, Kubeconfig: kc}, fingerprint
	return e.conn, nil
}

func (c *Cache) entry(k entryKey) *entry {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[k]
	if !ok {
		e = &entry{}
		c.entries[k] = e
	}
	return e
}

// Do runs fn with the cluster's Connection. When the tenant API server rejects the
// credentials (Kamaji rotated them after Get read them), it reads them again and, if they
// changed, runs fn once more with the new Connection.
func (c *Cache) Do(ctx context.Context, key Key, secretKey string, fn func(*Connection) error) error {
	conn, err := c.Get(ctx, key, secretKey)
	if err != nil {
		return err
	}
	err = fn(conn)
	if !apierrors.IsUnauthorized(err) {
		return err
	}
	fresh, getErr := c.Get(ctx, key, secretKey)
	if getErr != nil || fresh == conn {
		return err
	}
	return fn(fresh)
}
