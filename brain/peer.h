/*
 * Tentacle connections of the registerer and the commander: TLS, then the
 * handshake (common/handshake.h) with the proofs made and checked by the
 * maestro, which alone holds the keys (brain/ipcmsg.h: PROOF_CHECK for an
 * incoming connection, PROOF_MAKE with the ticket of an order or ping for
 * an outgoing one), and the tentacle's certificate checked against the
 * one enrolled; then the role takes over. Also the brain's outgoing
 * enrolment connections (offers).
 */
#ifndef OCTO_PEER_H
#define OCTO_PEER_H

#include <stdint.h>

#include "child.h"
#include "conn.h"
#include "handshake.h"

struct peer;

struct peer_role {
	/* Bit (1 << purpose) for each purpose this port serves. */
	unsigned	purposes;
	/* HELLO{ENROL} acknowledged (may be NULL): the exchange begins. */
	void		(*on_enrol_start)(struct peer *);
	/* After HELLO{ENROL}: each frame of the enrolment exchange. */
	int		(*on_enrol_frame)(struct peer *, const struct wire_frame *);
	/* Both sides proved the key. Return 0 to keep the connection (later
	 * frames go to on_frame), -1 to close it once flushed. */
	int		(*on_authenticated)(struct peer *);
	int		(*on_frame)(struct peer *, const struct wire_frame *);
	/* The connection ended (the peer is freed after). */
	void		(*on_close)(struct peer *, const char *reason);
};

struct peer {
	struct conn		*conn;
	uint32_t		 number;	/* IPC id of its requests */
	const struct peer_role	*role;
	struct handshake	 hs;
	int			 state;
	uint64_t		 id;		/* tentacle, once claimed */
	uint8_t			 enrolment;	/* once authenticated */
	uint32_t		 offer;		/* outgoing enrolment, or 0 */
	int			 outgoing;	/* we connected: TLS client */
	uint8_t			 purpose;	/* outgoing: what we ask */
	uint64_t		 ticket;	/* outgoing: the maestro's */
	uint8_t			 order_mac[PROTO_MAC_LEN]; /* outgoing ORDER */
	char			 expect_fpr[OCTO_FPR_HEX_LEN + 1];
	char			 addr[OCTO_ADDR_MAX];	/* outgoing */
	int			 port;			/* outgoing */
	int			 resumed;	/* offered a kept session */
	void			*data;		/* the role's */
	int			 done;		/* the role got what it wanted */
	struct peer		*next;
};

/* Accept tentacles on the child's listening socket for role. */
int	peer_listen(struct child_loop *, struct child_env *,
	    const struct peer_role *);
/* Connect to a tentacle's register port to enrol it (registerer). */
struct peer *peer_connect(struct child_loop *, struct child_env *,
	    const struct peer_role *, const char *addr, int port,
	    uint32_t offer, char *err, size_t errlen);

/* Connect to an enrolled tentacle (its command worker): its certificate
 * must be `fingerprint`, then the handshake as client for id and purpose,
 * its proofs made by the maestro for `ticket` (the order's or the
 * ping's; for an ORDER, with the order's MAC in p->order_mac);
 * on_authenticated follows. */
struct peer *peer_connect_tentacle(struct child_loop *, struct child_env *,
	    const struct peer_role *, const char *addr, int port,
	    const char *fingerprint, uint64_t id, uint64_t ticket,
	    uint8_t purpose, void *data, char *err, size_t errlen);

/* Outgoing connections to enrolled tentacles resume TLS sessions: one
 * kept per tentacle ID, address and port (at most max_tentacles, and at
 * least PEER_SESSIONS_MAX, the least recently used dropped; found by ID
 * in PEER_SESSIONS_BUCKETS buckets), taken once a connection authenticated
 * both ways, kept lean (without the tentacle's certificate, whose
 * fingerprint is kept beside: tls_session_lean); dropped when the
 * tentacle's enrolled fingerprint is not the one it was made with, or
 * when a connection that offered it fails before authenticating. The
 * pinned certificate check (on the kept fingerprint when the session
 * carries no certificate) and the handshake run on a resumed connection
 * as on any other. */
#define PEER_SESSIONS_MAX	4096
#define PEER_SESSIONS_BUCKETS	4096

/* IPC_PROOF_VERDICT, IPC_PROOF_MADE and other replies for a connection,
 * by number. */
struct peer *peer_find(uint32_t number);
void	peer_maestro_reply(const struct ipc_msg *);

/*
 * Connection slots: the port takes max_tentacles connections at once;
 * the last PEER_SLOTS_KEPT of them only from the accepted tentacles'
 * addresses, which the maestro sends (IPC_TENTACLE_ADDRESSES: give it to
 * peer_tentacle_addresses), and those addresses are not held to the
 * per-address cap of unauthenticated connections (conn_admit). An eighth,
 * at least one.
 */
#define PEER_SLOTS_KEPT(max)	((max) / 8 > 0 ? (max) / 8 : ((max) > 1))
void	peer_tentacle_addresses(const struct ipc_msg *);

/* Send a whole frame built by proto_encode_*(). */
int	peer_send(struct peer *, struct buf *frame);
/* Answer an authenticated poll or ping with the tentacle's enrolment
 * status; returns -1 so that on_authenticated can close with it. */
int	peer_send_status(struct peer *);
/* Refuse: log with peer, claimed ID and reason, count it at the maestro,
 * send an error and close. */
void	peer_refuse(struct peer *, const char *reason);
/* The brain's own certificate fingerprint (what tentacles pin). */
const char *peer_brain_fingerprint(void);

#endif
