package audit

// backend is where a Journal keeps its entries when it is not the bbolt
// file at Journal.path (the default, whose code is the Journal's own):
// PostgreSQL, shared by several bastions. Every caller keeps using
// *Journal; the backend is chosen when it is opened.
type backend interface {
	// append stores e (Time set, Seq not), assigning Seq; an entry whose
	// ID is stored already is returned as stored, not written twice.
	append(e Entry) (Entry, error)
	query(q Query) ([]Entry, error)
	// writable is nil while appends can be taken.
	writable() error
	// name says where the entries are, without a secret.
	name() string
	close()
}
