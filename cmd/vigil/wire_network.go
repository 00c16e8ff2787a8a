package main

import (
	"context"
	"time"

	"github.com/vigilops/vigil/integrations/digitalocean"
	"github.com/vigilops/vigil/ops/inventory"
	"github.com/vigilops/vigil/ops/network"
)

// newNetwork builds the network service over the inventory's account.
func newNetwork(cloud *digitalocean.Client, inv *inventory.Service, w wiring) *network.Service {
	opt := network.OptionsFrom(w.cfg.DigitalOcean.Network)
	opt.Guard = w.guard
	opt.Hosts = func() []inventory.Host { return inv.State().Hosts }
	return network.New(cloud, w.journal, opt)
}

// keepNetworkFresh refreshes the network as keepFresh does the inventory.
func keepNetworkFresh(ctx context.Context, n *network.Service, w wiring) {
	for {
		rctx, cancel := context.WithTimeout(ctx, time.Minute)
		err := n.Refresh(rctx)
		cancel()
		wait := inventoryRefresh
		if err != nil && ctx.Err() == nil {
			w.log.Error("digitalocean: network refresh failed", "err", err)
			wait = inventoryRetry
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
	}
}
