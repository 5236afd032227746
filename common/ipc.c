/*
 * Maestro <-> child messages: a pure decoder and a channel on a libevent
 * bufferevent.
 *
 * The handler and the closed callback may call ipc_chan_free() on their
 * own channel: the free is deferred until the read callback unwinds.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "ipc.h"
#include "limits.h"

enum ipc_status
ipc_decode(const uint8_t *buf, size_t len, struct ipc_msg *m,
    size_t *consumed)
{
	struct ipc_hdr	h;

	/* Reject as early as the header allows, like wire_decode. */
	if (len >= 4) {
		memcpy(&h.type, buf, 4);
		if (h.type == IPC_NONE || h.type >= IPC_TYPE_MAX)
			return IPC_BAD_TYPE;
	}
	if (len >= 8) {
		memcpy(&h.len, buf + 4, 4);
		if (h.len > IPC_PAYLOAD_MAX)
			return IPC_TOO_LONG;
	}
	if (len < IPC_HDR_LEN)
		return IPC_NEED_MORE;
	memcpy(&h.id, buf + 8, 4);
	if (len - IPC_HDR_LEN < h.len)
		return IPC_NEED_MORE;
	m->hdr = h;
	m->payload = buf + IPC_HDR_LEN;
	*consumed = IPC_HDR_LEN + (size_t)h.len;
	return IPC_OK;
}

int
ipc_encode(struct buf *out, uint32_t type, uint32_t id, const void *payload,
    size_t len)
{
	struct ipc_hdr	h;

	if (type == IPC_NONE || type >= IPC_TYPE_MAX || len > IPC_PAYLOAD_MAX ||
	    (len > 0 && payload == NULL))
		return -1;
	if (buf_reserve(out, IPC_HDR_LEN + len) == -1)
		return -1;
	h.type = type;
	h.len = (uint32_t)len;
	h.id = id;
	if (buf_append(out, &h, IPC_HDR_LEN) == -1 ||
	    buf_append(out, payload, len) == -1)
		return -1;
	return 0;
}

const char *
ipc_status_str(enum ipc_status s)
{
	switch (s) {
	case IPC_OK:
		return "ok";
	case IPC_NEED_MORE:
		return "truncated message";
	case IPC_BAD_TYPE:
		return "unknown type";
	case IPC_TOO_LONG:
		return "message too long";
	}
	return "unknown status";
}

const char *
ipc_type_str(uint32_t type)
{
	static const char *const names[IPC_TYPE_MAX] = {
		[IPC_AUTH_LOGIN] = "AUTH_LOGIN",
		[IPC_API_CALL] = "API_CALL",
		[IPC_API_REPLY] = "API_REPLY",
		[IPC_CONFIG_RELOAD] = "CONFIG_RELOAD",
		[IPC_LOG_EVENT] = "LOG_EVENT",
		[IPC_ENROL_REQUEST] = "ENROL_REQUEST",
		[IPC_ENROL_REPLY] = "ENROL_REPLY",
		[IPC_ENROL_OFFER] = "ENROL_OFFER",
		[IPC_ENROL_OFFER_DONE] = "ENROL_OFFER_DONE",
		[IPC_PROOF_CHECK] = "PROOF_CHECK",
		[IPC_PROOF_VERDICT] = "PROOF_VERDICT",
		[IPC_PROOF_MAKE] = "PROOF_MAKE",
		[IPC_PROOF_MADE] = "PROOF_MADE",
		[IPC_PAIR_MAKE] = "PAIR_MAKE",
		[IPC_PAIR_MADE] = "PAIR_MADE",
		[IPC_RUN_ORDER] = "RUN_ORDER",
		[IPC_JOB_STATE] = "JOB_STATE",
		[IPC_RESULT_STORE] = "RESULT_STORE",
		[IPC_RESULT_STORED] = "RESULT_STORED",
		[IPC_KEEPALIVE] = "KEEPALIVE",
		[IPC_TENTACLE_SEEN] = "TENTACLE_SEEN",
		[IPC_TENTACLE_MISSED] = "TENTACLE_MISSED",
		[IPC_RUN_REQUEST] = "RUN_REQUEST",
		[IPC_RUN_DONE] = "RUN_DONE",
		[IPC_CHILD_INIT] = "CHILD_INIT",
		[IPC_EXPORT_CONF] = "EXPORT_CONF",
		[IPC_EXPORT_EVENT] = "EXPORT_EVENT",
		[IPC_EXPORT_ACK] = "EXPORT_ACK",
		[IPC_EXPORT_DROP] = "EXPORT_DROP",
		[IPC_METRICS_GET] = "METRICS_GET",
		[IPC_TENTACLE_ADDRESSES] = "TENTACLE_ADDRESSES",
		[IPC_SCRIPT_REQUEST] = "SCRIPT_REQUEST",
		[IPC_SCRIPT_DONE] = "SCRIPT_DONE",
		[IPC_INVENTORY_ASK] = "INVENTORY_ASK",
		[IPC_INVENTORY_SET] = "INVENTORY_SET",
		[IPC_SCRIPT_PUSH] = "SCRIPT_PUSH",
		[IPC_SCRIPT_ACKED] = "SCRIPT_ACKED",
		[IPC_ENROLMENT_SET] = "ENROLMENT_SET",
		[IPC_ENROLMENT_STORED] = "ENROLMENT_STORED",
		[IPC_HS_PROOF_ASK] = "HS_PROOF_ASK",
		[IPC_HS_PROOF] = "HS_PROOF",
		[IPC_RUN_ACCEPTED] = "RUN_ACCEPTED",
		[IPC_STATUS_SET] = "STATUS_SET",
		[IPC_HS_NONCE_ASK] = "HS_NONCE_ASK",
		[IPC_HS_NONCES] = "HS_NONCES",
	};

	if (type >= IPC_TYPE_MAX || names[type] == NULL)
		return "UNKNOWN";
	return names[type];
}

struct ipc_chan {
	struct bufferevent	*bev;
	int			 fd;
	ipc_handler		 handler;
	ipc_closed		 closed;
	void			*arg;
	int			 done;		/* closed() was called */
	int			 in_cb;		/* inside one of our callbacks */
	int			 freed;		/* ipc_chan_free() during in_cb */
};

static void
ipc_chan_destroy(struct ipc_chan *ch)
{
	if (ch->bev != NULL)
		bufferevent_free(ch->bev);	/* closes fd */
	free(ch);
}

/* End the channel once: stop reading, tell the owner. */
static void
ipc_chan_end(struct ipc_chan *ch, const char *reason)
{
	if (ch->done)
		return;
	ch->done = 1;
	bufferevent_disable(ch->bev, EV_READ);
	if (ch->closed != NULL)
		ch->closed(ch, reason, ch->arg);
}

static void
ipc_readcb(struct bufferevent *bev, void *arg)
{
	struct ipc_chan	*ch = arg;
	struct evbuffer	*in = bufferevent_get_input(bev);
	struct ipc_msg	 m;
	enum ipc_status	 st;
	uint8_t		 hdr[IPC_HDR_LEN];
	uint8_t		*p;
	size_t		 avail, hlen, used;
	char		 why[128];
	uint32_t	 v;

	ch->in_cb++;
	while (!ch->done && !ch->freed) {
		avail = evbuffer_get_length(in);
		if (avail == 0)
			break;
		/* Check the header from a copy; only pull up a whole,
		 * checked message. */
		hlen = avail < IPC_HDR_LEN ? avail : IPC_HDR_LEN;
		if (evbuffer_copyout(in, hdr, hlen) != (ev_ssize_t)hlen) {
			ipc_chan_end(ch, "read error: evbuffer");
			break;
		}
		st = ipc_decode(hdr, hlen, &m, &used);
		if ((st == IPC_OK || st == IPC_NEED_MORE) &&
		    hlen == IPC_HDR_LEN) {
			/* Header good: is the whole message there? */
			memcpy(&v, hdr + 4, 4);
			if (avail - IPC_HDR_LEN < v)
				break;
			if ((p = evbuffer_pullup(in, IPC_HDR_LEN +
			    (ev_ssize_t)v)) == NULL) {
				ipc_chan_end(ch, "out of memory");
				break;
			}
			st = ipc_decode(p, IPC_HDR_LEN + (size_t)v, &m, &used);
			if (st == IPC_OK) {
				ch->handler(ch, &m, ch->arg);
				evbuffer_drain(in, used);
				continue;
			}
		}
		if (st == IPC_NEED_MORE)
			break;
		if (st == IPC_BAD_TYPE) {
			memcpy(&v, hdr, 4);
			snprintf(why, sizeof(why),
			    "bad message: unknown type %u", v);
		} else if (st == IPC_TOO_LONG) {
			memcpy(&v, hdr + 4, 4);
			snprintf(why, sizeof(why),
			    "bad message: length %u too long", v);
		} else
			snprintf(why, sizeof(why), "bad message: %s",
			    ipc_status_str(st));
		ipc_chan_end(ch, why);
		break;
	}
	ch->in_cb--;
	if (ch->freed && ch->in_cb == 0)
		ipc_chan_destroy(ch);
}

static void
ipc_eventcb(struct bufferevent *bev, short what, void *arg)
{
	struct ipc_chan	*ch = arg;
	char		 why[128];

	ch->in_cb++;
	if (what & BEV_EVENT_EOF)
		ipc_chan_end(ch, "closed by peer");
	else if (what & BEV_EVENT_ERROR) {
		snprintf(why, sizeof(why), "%s error: %s",
		    (what & BEV_EVENT_WRITING) ? "write" : "read",
		    evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
		ipc_chan_end(ch, why);
	}
	ch->in_cb--;
	if (ch->freed && ch->in_cb == 0)
		ipc_chan_destroy(ch);
}

struct ipc_chan *
ipc_chan_new(struct event_base *base, int fd, ipc_handler handler,
    ipc_closed closed, void *arg)
{
	struct ipc_chan	*ch;

	if ((ch = calloc(1, sizeof(*ch))) == NULL)
		return NULL;
	if (evutil_make_socket_nonblocking(fd) == -1 ||
	    (ch->bev = bufferevent_socket_new(base, fd,
	    BEV_OPT_CLOSE_ON_FREE)) == NULL) {
		free(ch);
		return NULL;
	}
	ch->fd = fd;
	ch->handler = handler;
	ch->closed = closed;
	ch->arg = arg;
	/* Stop reading once a largest message is buffered: the peer cannot
	 * make us buffer more than one message beyond the limit. */
	bufferevent_setwatermark(ch->bev, EV_READ, 0,
	    IPC_HDR_LEN + IPC_PAYLOAD_MAX);
	bufferevent_setcb(ch->bev, ipc_readcb, NULL, ipc_eventcb, ch);
	if (bufferevent_enable(ch->bev, EV_READ | EV_WRITE) == -1) {
		bufferevent_free(ch->bev);
		free(ch);
		return NULL;
	}
	return ch;
}

void
ipc_chan_read_max(struct ipc_chan *ch, size_t n)
{
	bufferevent_set_max_single_read(ch->bev, n);
}

void
ipc_chan_free(struct ipc_chan *ch)
{
	if (ch == NULL)
		return;
	if (ch->in_cb) {
		/* Called from our own callback: free when it unwinds. */
		ch->freed = 1;
		ch->done = 1;
		bufferevent_disable(ch->bev, EV_READ | EV_WRITE);
		return;
	}
	ipc_chan_destroy(ch);
}

int
ipc_send(struct ipc_chan *ch, uint32_t type, uint32_t id,
    const void *payload, size_t len)
{
	struct ipc_hdr	 h;
	struct evbuffer	*out;

	if (ch->freed || type == IPC_NONE || type >= IPC_TYPE_MAX ||
	    len > IPC_PAYLOAD_MAX || (len > 0 && payload == NULL))
		return -1;
	h.type = type;
	h.len = (uint32_t)len;
	h.id = id;
	out = bufferevent_get_output(ch->bev);
	/* Header and payload in one locked step: never half a message. */
	if (evbuffer_expand(out, IPC_HDR_LEN + len) == -1 ||
	    evbuffer_add(out, &h, IPC_HDR_LEN) == -1)
		return -1;
	if (len > 0 && evbuffer_add(out, payload, len) == -1)
		return -1;
	return 0;
}

void
ipc_flush(struct ipc_chan *ch)
{
	struct evbuffer	*out;
	struct pollfd	 pfd;
	int		 n;

	if (ch == NULL || ch->bev == NULL)
		return;
	out = bufferevent_get_output(ch->bev);
	bufferevent_disable(ch->bev, EV_WRITE);
	/* The bufferevent freezes the start of its output buffer: only it
	 * may drain it. We write in its place for a moment. */
	evbuffer_unfreeze(out, 1);
	while (evbuffer_get_length(out) > 0) {
		n = evbuffer_write(out, ch->fd);
		if (n > 0)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK ||
		    errno == EINTR)) {
			pfd.fd = ch->fd;
			pfd.events = POLLOUT;
			pfd.revents = 0;
			/* A peer that stops reading must not hang us. */
			n = poll(&pfd, 1, 5000);
			if (n == 0 || (n == -1 && errno != EINTR))
				break;
			continue;
		}
		break;		/* peer gone: nothing more to do */
	}
	evbuffer_freeze(out, 1);
	if (!ch->freed)
		bufferevent_enable(ch->bev, EV_WRITE);
}
