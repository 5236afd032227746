/*
 * The command worker: once the tentacle is enrolled, it listens on
 * command_port (7001) for its brain's orders (report 3.3). Orders, script
 * runs and result delivery are later steps of the project; until then
 * every frame gets an honest refusal and the connection is closed.
 */
#include "conn.h"
#include "log.h"
#include "tentacle.h"

static int
commandworker_frame(struct conn *c, const struct wire_frame *f, void *arg)
{
	conn_fail(c, "commands not implemented yet");
	return 0;
}

int
commandworker_main(struct tentacle_child *ch)
{
	static const struct tentacle_proto	proto = {
		commandworker_frame, NULL
	};

	return listener_run(ch, &proto);
}
