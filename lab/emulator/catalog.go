package emulator

// The fixed catalogue the emulator offers: a handful of DigitalOcean's real
// regions, sizes and distribution images, with their public prices.

type region struct {
	Slug      string   `json:"slug"`
	Name      string   `json:"name"`
	Features  []string `json:"features"`
	Available bool     `json:"available"`
	Sizes     []string `json:"sizes"`
}

type size struct {
	Slug         string   `json:"slug"`
	Memory       int      `json:"memory"`
	Vcpus        int      `json:"vcpus"`
	Disk         int      `json:"disk"`
	Transfer     float64  `json:"transfer"`
	PriceMonthly float64  `json:"price_monthly"`
	PriceHourly  float64  `json:"price_hourly"`
	Regions      []string `json:"regions"`
	Available    bool     `json:"available"`
	Description  string   `json:"description"`
}

type image struct {
	ID            int      `json:"id"`
	Name          string   `json:"name"`
	Type          string   `json:"type"`
	Distribution  string   `json:"distribution"`
	Slug          *string  `json:"slug"`
	Public        bool     `json:"public"`
	Regions       []string `json:"regions"`
	CreatedAt     string   `json:"created_at"`
	MinDiskSize   int      `json:"min_disk_size"`
	SizeGigabytes float64  `json:"size_gigabytes"`
	Description   string   `json:"description"`
	Tags          []string `json:"tags"`
	Status        string   `json:"status"`
	ErrorMessage  string   `json:"error_message"`
}

var regionSlugs = []string{"ams3", "fra1", "lon1", "nyc1", "nyc3", "sfo3", "sgp1"}

var regionNames = map[string]string{
	"ams3": "Amsterdam 3", "fra1": "Frankfurt 1", "lon1": "London 1", "nyc1": "New York 1",
	"nyc3": "New York 3", "sfo3": "San Francisco 3", "sgp1": "Singapore 1",
}

var sizes = []size{
	{Slug: "s-1vcpu-1gb", Memory: 1024, Vcpus: 1, Disk: 25, Transfer: 1, PriceMonthly: 6, PriceHourly: 0.00893, Description: "Basic"},
	{Slug: "s-1vcpu-2gb", Memory: 2048, Vcpus: 1, Disk: 50, Transfer: 2, PriceMonthly: 12, PriceHourly: 0.01786, Description: "Basic"},
	{Slug: "s-2vcpu-2gb", Memory: 2048, Vcpus: 2, Disk: 60, Transfer: 3, PriceMonthly: 18, PriceHourly: 0.02679, Description: "Basic"},
	{Slug: "s-2vcpu-4gb", Memory: 4096, Vcpus: 2, Disk: 80, Transfer: 4, PriceMonthly: 24, PriceHourly: 0.03571, Description: "Basic"},
	{Slug: "s-4vcpu-8gb", Memory: 8192, Vcpus: 4, Disk: 160, Transfer: 5, PriceMonthly: 48, PriceHourly: 0.07143, Description: "Basic"},
	{Slug: "g-2vcpu-8gb", Memory: 8192, Vcpus: 2, Disk: 25, Transfer: 4, PriceMonthly: 63, PriceHourly: 0.09375, Description: "General Purpose"},
	{Slug: "m-2vcpu-16gb", Memory: 16384, Vcpus: 2, Disk: 50, Transfer: 4, PriceMonthly: 84, PriceHourly: 0.125, Description: "Memory-Optimized"},
}

type distImage struct {
	id           int
	slug, name   string
	distribution string
}

var distImages = []distImage{
	{1001, "debian-12-x64", "12 x64", "Debian"},
	{1002, "debian-13-x64", "13 x64", "Debian"},
	{1003, "ubuntu-22-04-x64", "22.04 (LTS) x64", "Ubuntu"},
	{1004, "ubuntu-24-04-x64", "24.04 (LTS) x64", "Ubuntu"},
	{1005, "fedora-42-x64", "42 x64", "Fedora"},
	{1006, "rockylinux-9-x64", "9 x64", "Rocky Linux"},
}

func catalogRegion(slug string) (region, bool) {
	name, ok := regionNames[slug]
	if !ok {
		return region{}, false
	}
	sl := make([]string, len(sizes))
	for i, s := range sizes {
		sl[i] = s.Slug
	}
	return region{
		Slug: slug, Name: name, Available: true, Sizes: sl,
		Features: []string{"backups", "ipv6", "metadata", "install_agent", "storage", "image_transfer"},
	}, true
}

func catalogRegions() []region {
	out := make([]region, 0, len(regionSlugs))
	for _, s := range regionSlugs {
		r, _ := catalogRegion(s)
		out = append(out, r)
	}
	return out
}

func catalogSize(slug string) (size, bool) {
	for _, s := range sizes {
		if s.Slug == slug {
			s.Regions = regionSlugs
			s.Available = true
			return s, true
		}
	}
	return size{}, false
}

func catalogSizes() []size {
	out := make([]size, 0, len(sizes))
	for _, s := range sizes {
		full, _ := catalogSize(s.Slug)
		out = append(out, full)
	}
	return out
}

func (d distImage) image() image {
	slug := d.slug
	return image{
		ID: d.id, Name: d.name, Type: "base", Distribution: d.distribution, Slug: &slug, Public: true,
		Regions: regionSlugs, CreatedAt: "2025-06-01T00:00:00Z", MinDiskSize: 15, SizeGigabytes: 2.5,
		Description: d.distribution + " " + d.name, Tags: []string{}, Status: "available",
	}
}

// catalogImage finds a distribution image by slug or by numeric id.
func catalogImage(slug string, id int) (image, bool) {
	for _, d := range distImages {
		if (slug != "" && d.slug == slug) || (id != 0 && d.id == id) {
			return d.image(), true
		}
	}
	return image{}, false
}

func catalogImages() []image {
	out := make([]image, 0, len(distImages))
	for _, d := range distImages {
		out = append(out, d.image())
	}
	return out
}
