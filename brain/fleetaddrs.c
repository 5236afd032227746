/*
 * The accepted tentacles' addresses, for the registerer and the commander
 * (IPC_TENTACLE_ADDRESSES): they keep the last connection slots of their
 * port for them (peer.c), so that strangers filling the caps cannot lock
 * the fleet out. Sent to each when it starts, and to both a moment after
 * the set may have changed (a tentacle enrolled, accepted, rejected or
 * revoked: tentacle_addresses_changed), once for a burst of changes.
 */
#include <bsd/string.h>
#include <event2/event.h>

#include "addrset.h"
#include "buf.h"
#include "ipcmsg.h"
#include "log.h"
#include "maestro.h"
#include "net.h"

#define ADDRESSES_DELAY_MS	500	/* a burst of changes: one sending */

static struct event	*addresses_ev;

static void
collect(const char *addr, void *arg)
{
	unsigned char	 key[NET_ADDR_KEY_LEN];
	struct buf	*b = arg;

	if (net_addr_key(addr, key) == 0 &&
	    buf_append(b, key, sizeof(key)) == -1)
		log_warnx("too many tentacle addresses: %s keeps no slot",
		    addr);
}

int
tentacle_addresses_send(struct child *c)
{
	struct ipc_tentacle_addresses	 a;
	struct buf			 b;
	size_t				 n, off = 0;
	int				 rc = 0;

	if (c->chan == NULL || m.db == NULL)
		return 0;
	buf_init(&b, (size_t)ADDRSET_MAX * NET_ADDR_KEY_LEN);
	if (db_tentacle_addresses_each(m.db, collect, &b) == -1) {
		buf_free(&b);
		return -1;
	}
	n = b.len / NET_ADDR_KEY_LEN;
	do {
		a.flags = off == 0 ? ADDRESSES_FIRST : 0;
		a.count = n - off > IPCMSG_ADDRESSES_MAX ?
		    IPCMSG_ADDRESSES_MAX : n - off;
		a.keys = a.count ? b.data + off * NET_ADDR_KEY_LEN : NULL;
		if (off + a.count == n)
			a.flags |= ADDRESSES_LAST;
		if (ipcmsg_send_tentacle_addresses(c->chan,
		    IPC_TENTACLE_ADDRESSES, 0, &a) == -1) {
			log_warnx("%s: cannot send the tentacles' addresses",
			    c->name);
			rc = -1;
			break;
		}
		off += a.count;
	} while (off < n);
	buf_free(&b);
	return rc;
}

static void
addresses_cb(evutil_socket_t fd, short events, void *arg)
{
	tentacle_addresses_send(&children[CHILD_REGISTERER]);
	tentacle_addresses_send(&children[CHILD_COMMANDER]);
}

void
tentacle_addresses_changed(void)
{
	struct timeval	tv = { 0, ADDRESSES_DELAY_MS * 1000 };

	if (addresses_ev == NULL &&
	    (addresses_ev = evtimer_new(m.base, addresses_cb, NULL)) == NULL) {
		addresses_cb(-1, 0, NULL);
		return;
	}
	if (!evtimer_pending(addresses_ev, NULL))
		evtimer_add(addresses_ev, &tv);
}

void
tentacle_addresses_stop(void)
{
	if (addresses_ev != NULL)
		event_free(addresses_ev);
	addresses_ev = NULL;
}
