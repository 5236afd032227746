/*
 * The register: while the tentacle is not enrolled, it listens on
 * register_port (7000) for a brain that enrols it (report 3.2). The
 * enrolment protocol is the next step of the project; until then every
 * frame gets an honest refusal and the connection is closed.
 */
#include "conn.h"
#include "log.h"
#include "tentacle.h"

static int
register_frame(struct conn *c, const struct wire_frame *f, void *arg)
{
	conn_fail(c, "enrolment not implemented yet");
	return 0;
}

int
register_main(struct tentacle_child *ch)
{
	static const struct tentacle_proto	proto = { register_frame, NULL };

	return listener_run(ch, &proto);
}
