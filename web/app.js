/*
 * Octopus Supervisor dashboard.
 *
 * One single-page app, no framework, no external resource, no inline
 * code (the server's CSP forbids it). Structure:
 *   - dom helpers: el() builds elements; text only ever goes in through
 *     textContent (el() never parses HTML), so nothing that comes from
 *     the brain, a tentacle or a user can become markup;
 *   - api(): every call to the JSON API (cookie, CSRF token, background
 *     header, errors, session expiry);
 *   - the shell (top bar, navigation) and a hash router: #/fleet,
 *     #/tentacle/ID, #/run, #/runs, #/runs/ID, #/results/ID,
 *     #/compare/A/B, #/tokens, #/users, #/audit, #/account, #/brain,
 *     #/scripts, #/scripts/new, #/scripts/NAME, #/schedules;
 *   - views: functions that return {node, start}; the router swaps them
 *     in and owns the timers of the current view;
 *   - start-up: GET /api/session decides login or dashboard.
 *
 * Roles: admin (everything), operator (runs scripts, reads), viewer
 * (reads, no tokens, users or audit). The brain enforces them; the page
 * only shows what the role may do.
 */
'use strict';

(function () {

	const PRODUCT = 'Octopus Supervisor';
	const REFRESH_MS = 5000;	/* fleet, tentacle, runs, health */
	const RUN_REFRESH_MS = 1000;	/* a run in progress */
	const RUN_JOBS_PAGE = 500;	/* a run's jobs asked at a time */
	const RUNS_PAGE = 500;		/* runs listed on the Runs page */
	const FINISHED = ['done', 'failed', 'timeout', 'unreachable',
	    'refused', 'expired'];
	/* the brain's audit actions; others it logs are added when seen */
	const AUDIT_ACTIONS = ['login', 'login_failed', 'logout', 'password',
	    'password_failed', 'user_add', 'user_delete', 'user_created',
	    'enrol', 'enrol_failed', 'enrolled', 'enrolment_refused',
	    'approve', 'reject', 'revoke', 'token_create', 'token_revoke',
	    'run', 'result_refused', 'refused_handshake', 'child_killed',
	    'child_restart', 'totp_setup', 'totp_add', 'totp_remove',
	    'totp_failed', 'script_create', 'script_update', 'script_delete',
	    'script_refused'];
	const ROLES = ['admin', 'operator', 'viewer'];
	const ROLE_HELP = {
		admin: 'everything: hosts, tokens, users, audit log',
		operator: 'runs scripts and reads',
		viewer: 'reads only',
	};

	/* ------------------------------------------------------ state */

	const state = {
		user: null,		/* {name, role} once logged in */
		lastUser: '',		/* prefilled after an expiry */
		csrf: null,
		sessionTimeout: null,	/* seconds, from GET /api/session */
		brainAddress: null,	/* where tentacles enrol; null: any */
		registererPort: null,	/* its registerer's port */
		lastActive: 0,		/* Date.now() of our last user request */
		nextCheck: 0,
		checking: false,
		watchdog: null,
		timers: [],		/* intervals of the current view */
		view: 0,		/* bumped at every route change */
		shell: null,		/* {main, nav} while logged in */
		tentacles: [],		/* last GET /api/tentacles */
		hosts: new Map(),	/* tentacles seen on any page, by ID */
		runCache: new Map(),	/* runs' script and author, by ID */
		selection: new Set(),	/* fleet table: chosen tentacle IDs */
		flash: null,		/* notice for the next view */
		totpSetupRequired: false, /* only the account page until set */
	};

	function isAdmin() {
		return state.user !== null && state.user.role === 'admin';
	}

	function canRun() {
		return state.user !== null && (state.user.role === 'admin' ||
		    state.user.role === 'operator');
	}

	/* -------------------------------------------------------- dom */

	/*
	 * el('div', {class: 'x', on: {click: f}}, 'text', child, [more])
	 * Strings become text nodes; null/undefined/false are skipped.
	 */
	function el(tag, attrs, ...children) {
		const node = document.createElement(tag);
		for (const [key, value] of Object.entries(attrs || {})) {
			if (value === null || value === undefined ||
			    value === false)
				continue;
			if (key === 'on') {
				for (const [ev, fn] of Object.entries(value))
					node.addEventListener(ev, fn);
			} else if (key === 'text') {
				node.textContent = String(value);
			} else if (key === 'dataset') {
				Object.assign(node.dataset, value);
			} else if (value === true) {
				node.setAttribute(key, '');
			} else {
				node.setAttribute(key, String(value));
			}
		}
		append(node, children);
		return node;
	}

	function append(node, children) {
		for (const child of children) {
			if (child === null || child === undefined ||
			    child === false)
				continue;
			if (Array.isArray(child))
				append(node, child);
			else if (child instanceof Node)
				node.appendChild(child);
			else
				node.appendChild(document.createTextNode(
				    String(child)));
		}
	}

	function clear(node) {
		while (node.firstChild)
			node.removeChild(node.firstChild);
	}

	function replace(node, ...children) {
		clear(node);
		append(node, children);
	}

	function setText(node, text) {
		node.textContent = text === null || text === undefined ?
		    '' : String(text);
	}

	/*
	 * What a node shows (tag, attributes, text, children) as a string,
	 * to compare a refreshed rendering with the one on the page and
	 * leave unchanged parts alone (focus, checked boxes, an open
	 * confirmation survive). contentSig: the same for a node's children.
	 */
	function nodeSig(node) {
		if (node.nodeType === Node.TEXT_NODE)
			return JSON.stringify(node.data);
		if (node.nodeType !== Node.ELEMENT_NODE)
			return '';
		let s = '<' + node.tagName;
		for (const a of node.attributes)
			s += ' ' + a.name + '=' + JSON.stringify(a.value);
		return s + '>' + contentSig(node) + '</>';
	}

	function contentSig(node) {
		let s = '';
		for (const c of node.childNodes)
			s += nodeSig(c);
		return s;
	}

	let uid = 0;
	function newId(prefix) {
		uid += 1;
		return prefix + '-' + uid;
	}

	/* -------------------------------------------------------- api */

	class ApiError extends Error {
		constructor(status, message, body, retryAfter) {
			super(message);
			this.status = status;
			this.body = body;
			this.retryAfter = retryAfter;
		}
	}

	/*
	 * api(method, path, body, {background, auth})
	 *   background: a refresh the page makes by itself; sends
	 *     X-Octopus-Background so that it does not extend the session.
	 *   auth: a login attempt or the start-up check; its 401 means
	 *     wrong credentials or no session yet, not a session that ended.
	 * Resolves to the decoded JSON body; rejects with an ApiError
	 * (status 0 when the brain cannot be reached).
	 */
	async function api(method, path, body, opts) {
		opts = opts || {};
		const headers = {'Accept': 'application/json'};
		const init = {
			method: method,
			headers: headers,
			credentials: 'same-origin',
			cache: 'no-store',
			redirect: 'error',
		};
		if (body !== undefined) {
			headers['Content-Type'] = 'application/json';
			init.body = JSON.stringify(body);
		}
		if (method !== 'GET' && method !== 'HEAD' && state.csrf)
			headers['X-CSRF-Token'] = state.csrf;
		if (opts.background)
			headers['X-Octopus-Background'] = '1';

		let res;
		try {
			res = await fetch(path, init);
		} catch (e) {
			throw new ApiError(0, 'The brain cannot be reached.',
			    null, null);
		}
		let data = null;
		try {
			const text = await res.text();
			if (text)
				data = JSON.parse(text);
		} catch (e) {
			data = null;
		}
		if (res.ok) {
			if (!opts.background)
				state.lastActive = Date.now();
			return data;
		}

		const message = data && typeof data.error === 'string' ?
		    data.error : 'The brain answered ' + res.status + '.';
		const retry = parseInt(res.headers.get('Retry-After'), 10);
		const err = new ApiError(res.status, message, data,
		    Number.isFinite(retry) ? retry : null);
		if (res.status === 401 && !opts.auth)
			sessionLost(message);
		else if (!opts.background && res.status !== 401)
			state.lastActive = Date.now();
		throw err;
	}

	/*
	 * Every row of a list the brain gives by pages (SPEC "Lists at
	 * scale"): the pages asked one after the other, each from the
	 * previous one's "next". Resolves to {rows, last} (last: the last
	 * page's answer, with what else it carries).
	 */
	async function allPages(path, member, opts) {
		const sep = path.indexOf('?') === -1 ? '?' : '&';
		let rows = [];
		let after = null;
		let last;
		do {
			last = await api('GET', path + (after === null ? '' :
			    sep + 'after=' + after), undefined, opts);
			rows = rows.concat(last[member] || []);
			after = last.next === undefined ? null : last.next;
		} while (after !== null);
		return {rows: rows, last: last};
	}

	function errorText(e) {
		if (e instanceof ApiError) {
			if (e.status === 403 && /role/.test(e.message))
				return 'Your role does not allow this.';
			return e.message.charAt(0).toUpperCase() +
			    e.message.slice(1);
		}
		return String(e && e.message ? e.message : e);
	}

	/* -------------------------------------------------- formatting */

	function pad(n) {
		return n < 10 ? '0' + n : String(n);
	}

	function parseTime(iso) {
		if (typeof iso !== 'string' || iso === '')
			return null;
		const t = Date.parse(iso);
		return Number.isFinite(t) ? new Date(t) : null;
	}

	/* Local time, unambiguous: 2026-11-22 14:03:05 */
	function fmtTime(iso) {
		const d = parseTime(iso);
		if (d === null)
			return '—';
		return d.getFullYear() + '-' + pad(d.getMonth() + 1) + '-' +
		    pad(d.getDate()) + ' ' + pad(d.getHours()) + ':' +
		    pad(d.getMinutes()) + ':' + pad(d.getSeconds());
	}

	function fmtAgo(iso) {
		const d = parseTime(iso);
		if (d === null)
			return 'never';
		let s = Math.round((Date.now() - d.getTime()) / 1000);
		const future = s < 0;
		s = Math.abs(s);
		let text;
		if (s < 5)
			return 'just now';
		if (s < 60)
			text = s + ' s';
		else if (s < 3600)
			text = Math.floor(s / 60) + ' min';
		else if (s < 86400)
			text = Math.floor(s / 3600) + ' h';
		else
			text = Math.floor(s / 86400) + ' d';
		return future ? 'in ' + text : text + ' ago';
	}

	/* <time> with the relative form shown and the exact one on hover */
	function timeEl(iso, relative) {
		return el('time', {datetime: iso || null,
		    title: iso ? fmtTime(iso) : null},
		    relative ? fmtAgo(iso) : fmtTime(iso));
	}

	function fmtDuration(ms) {
		if (typeof ms !== 'number' || !isFinite(ms))
			return '—';
		if (ms < 1000)
			return ms + ' ms';
		if (ms < 60000)
			return (ms / 1000).toFixed(ms < 10000 ? 2 : 1) + ' s';
		const m = Math.floor(ms / 60000);
		return m + ' min ' + Math.round((ms % 60000) / 1000) + ' s';
	}

	function fmtUptime(seconds) {
		if (typeof seconds !== 'number' || !isFinite(seconds))
			return '—';
		let s = Math.floor(seconds);
		const d = Math.floor(s / 86400); s %= 86400;
		const h = Math.floor(s / 3600); s %= 3600;
		const m = Math.floor(s / 60); s %= 60;
		if (d)
			return d + ' d ' + h + ' h';
		if (h)
			return h + ' h ' + m + ' min';
		if (m)
			return m + ' min' + (s ? ' ' + s + ' s' : '');
		return s + ' s';
	}

	function plural(n, one, many) {
		return n + ' ' + (n === 1 ? one : (many || one + 's'));
	}

	function badge(text, kind, extra) {
		return el('span', {class: 'badge badge-' + (kind || 'neutral') +
		    (extra ? ' ' + extra : '')}, text);
	}

	/* What a tentacle's status badge says. */
	function tentacleStatus(t) {
		if (t.enrolment === 'pending')
			return {key: 'pending', label: 'pending', kind: 'info'};
		if (t.enrolment === 'rejected')
			return {key: 'rejected', label: 'rejected',
			    kind: 'neutral'};
		if (t.state === 'online')
			return {key: 'online', label: 'online', kind: 'ok'};
		if (t.state === 'offline')
			return {key: 'offline', label: 'offline', kind: 'err'};
		return {key: 'unknown', label: 'not seen yet',
		    kind: 'neutral'};
	}

	function statusBadge(t) {
		const s = tentacleStatus(t);
		return badge(s.label, s.kind, 'status-' + s.key);
	}

	/*
	 * A job's outcome: compliant (exit 0), findings (exit 1), error
	 * (any other exit status, a signal; or the job failed or timed
	 * out), unreachable, or still in progress (queued, sent, running).
	 * The label is the job's state when the script gave no verdict.
	 */
	function outcome(result, jobState, message) {
		if (result === null || result === undefined) {
			switch (jobState) {
			case 'failed':
				return {key: 'error', label: 'failed',
				    kind: 'err', why: message ||
				    'the tentacle could not run it'};
			case 'timeout':
				return {key: 'error', label: 'timeout',
				    kind: 'err', why: message ||
				    'killed at the time limit'};
			case 'unreachable':
				return {key: 'unreachable',
				    label: 'unreachable', kind: 'err',
				    why: message ||
				    'the tentacle could not be reached'};
			case 'refused':
				return {key: 'error', label: 'refused',
				    kind: 'err', why: message ||
				    'the tentacle refused to run it'};
			case 'expired':
				return {key: 'unreachable', label: 'expired',
				    kind: 'err', why: message ||
				    'its tentacle did not come back in time'};
			case 'done':
				return {key: 'error', label: 'no result',
				    kind: 'err', why: message};
			default:
				return {key: 'progress',
				    label: jobState || 'queued',
				    kind: 'info', why: message ||
				    (STATE_TEXT[jobState] || '')};
			}
		}
		if (result.outcome === 'timeout')
			return {key: 'error', label: 'timeout', kind: 'err',
			    why: 'killed at the time limit'};
		if (result.outcome === 'failed')
			return {key: 'error', label: 'failed', kind: 'err',
			    why: 'the script could not run'};
		if (result.signal !== null && result.signal !== undefined)
			return {key: 'error', label: 'error', kind: 'err',
			    why: 'killed by signal ' + result.signal};
		if (result.exit_status === 0)
			return {key: 'compliant', label: 'compliant',
			    kind: 'ok', why: 'exit status 0'};
		if (result.exit_status === 1)
			return {key: 'findings', label: 'findings',
			    kind: 'warn', why: 'exit status 1'};
		return {key: 'error', label: 'error', kind: 'err',
		    why: 'exit status ' + result.exit_status};
	}

	function outcomeBadge(o) {
		return el('span', {class: 'badge badge-' + o.kind +
		    ' outcome-' + o.key, title: o.why || null}, o.label);
	}

	function isFinished(job) {
		return FINISHED.indexOf(job.state) !== -1;
	}

	function hostName(id) {
		const t = state.tentacles.find(x => x.id === id) ||
		    state.hosts.get(id);
		return t ? t.hostname : 'tentacle ' + id;
	}

	/* The tentacles of a page of the fleet, kept by ID for their names
	 * (the whole fleet is never asked for: SPEC "Lists at scale"). */
	function learnHosts(rows) {
		for (const t of rows || [])
			state.hosts.set(t.id, t);
		return rows || [];
	}

	/* One tentacle by ID (the page of one that starts at it), or null. */
	async function tentacleById(id, opts) {
		const r = await api('GET', '/api/tentacles?limit=1' +
		    (id > 1 ? '&after=' + (id - 1) : ''), undefined, opts);
		const t = (r.tentacles || []).find(x => x.id === id) || null;
		if (t)
			learnHosts([t]);
		return t;
	}

	/* The first limit tentacles by name with q in their name or
	 * address (none: the first by name), of one enrolment or any. */
	function findTentacles(q, limit, enrolment, opts) {
		return api('GET', '/api/tentacles?sort=hostname&limit=' + limit +
		    (enrolment ? '&enrolment=' + enrolment : '') +
		    (q ? '&q=' + encodeURIComponent(q) : ''), undefined, opts);
	}

	/* How many accepted hosts the brain's "counts" says there are. */
	function acceptedCount(counts) {
		return counts ? (counts.online || 0) + (counts.offline || 0) +
		    (counts.unknown || 0) : 0;
	}

	/* fn once the calls have stopped for ms */
	function debounced(ms, fn) {
		let timer = null;
		return function () {
			clearTimeout(timer);
			timer = setTimeout(fn, ms);
		};
	}

	/* ------------------------------------------------- components */

	function notice(message) {
		/* role=alert is announced by screen readers when filled */
		const box = el('p', {class: 'notice', role: 'alert'});
		if (message) {
			box.classList.add('notice-' + (message.kind || 'error'));
			setText(box, message.text);
		} else {
			box.hidden = true;
		}
		return box;
	}

	function setNotice(box, text, kind) {
		box.className = 'notice notice-' + (kind || 'error');
		setText(box, text);
		box.hidden = !text;
	}

	function button(label, attrs, onClick) {
		attrs = Object.assign({type: 'button'}, attrs || {});
		const cls = attrs.class || '';
		const variant = /\bbutton-(primary|danger|ghost|secondary)/;
		attrs.class = 'button ' + (variant.test(cls) ? cls :
		    'button-secondary ' + cls).trim();
		if (onClick)
			attrs.on = {click: onClick};
		return el('button', attrs, label);
	}

	function link(href, text, attrs) {
		return el('a', Object.assign({href: href}, attrs || {}), text);
	}

	/*
	 * A button that asks again in place before doing something that
	 * cannot be undone (no window.confirm: keyboard and tests alike).
	 * action() returns a promise; its error goes to the status box.
	 */
	function confirmButton(label, question, confirmLabel, action,
	    status, attrs) {
		const wrap = el('span', {class: 'confirm'});
		const first = button(label, Object.assign({class:
		    'button-danger-outline button-small'}, attrs || {}),
		    function () {
			replace(wrap, el('span', {class: 'confirm-q'},
			    question), yes, no);
			/* a table refresh leaves an open question alone */
			wrap.dataset.open = '1';
			yes.focus();
		});
		const yes = button(confirmLabel, {class:
		    'button-danger button-small'}, async function () {
			yes.disabled = true;
			no.disabled = true;
			try {
				await action();
			} catch (e) {
				if (status)
					setNotice(status, errorText(e));
				reset();
			}
		});
		const no = button('Cancel', {class: 'button-small'}, reset);
		function reset() {
			yes.disabled = false;
			no.disabled = false;
			delete wrap.dataset.open;
			replace(wrap, first);
			first.focus();
		}
		wrap.appendChild(first);
		return wrap;
	}

	function card(title, ...children) {
		const id = newId('card');
		return el('section', {class: 'card', 'aria-labelledby': id},
		    el('div', {class: 'card-head'},
			el('h2', {id: id}, title)),
		    children);
	}

	function cardWithHead(title, headExtra, ...children) {
		const id = newId('card');
		return el('section', {class: 'card', 'aria-labelledby': id},
		    el('div', {class: 'card-head'},
			el('h2', {id: id}, title), headExtra),
		    children);
	}

	function pageHead(title, crumbs, actions) {
		return el('div', {class: 'page-head'},
		    crumbs ? el('nav', {class: 'crumbs',
			'aria-label': 'Breadcrumb'}, crumbs.map((c, i) =>
			[i ? el('span', {class: 'crumb-sep',
			    'aria-hidden': 'true'}, '›') : null,
			    link(c[0], c[1])])) : null,
		    el('div', {class: 'page-title'},
			el('h1', {class: 'page-h1', tabindex: '-1'}, title),
			actions ? el('div', {class: 'actions'}, actions) :
			null));
	}

	function field(label, input, hint) {
		const id = input.id || newId('f');
		input.id = id;
		const hintId = hint ? id + '-hint' : null;
		if (hintId)
			input.setAttribute('aria-describedby', hintId);
		return el('div', {class: 'field'},
		    el('label', {for: id}, label), input,
		    hint ? el('p', {class: 'hint', id: hintId}, hint) : null);
	}

	function select(options, value, attrs) {
		const s = el('select', attrs || {});
		for (const o of options) {
			const [v, label] = Array.isArray(o) ? o : [o, o];
			const opt = el('option', {value: v}, label);
			if (v === value)
				opt.selected = true;
			s.appendChild(opt);
		}
		return s;
	}

	function defList(items) {
		return el('dl', {class: 'meta'}, items.filter(x => x).map(
		    ([k, v, cls]) => el('div', {class: 'meta-item'},
			el('dt', null, k),
			el('dd', {class: cls || null}, v))));
	}

	function updatedLine() {
		return el('p', {class: 'muted small updated',
		    'aria-live': 'off'}, '');
	}

	function touch(line) {
		setText(line, 'Updated ' + new Date().toLocaleTimeString());
	}

	/*
	 * A table that is refreshed in place: rows are kept by key and a
	 * cell is replaced only when its content changed, so focus, checked
	 * boxes and scroll survive the page's own refreshes. Columns:
	 *   {label, cell(row) -> Node|string, sort(row) -> value,
	 *    class, head: true (a <th scope=row>), hideSmall: true,
	 *    dir: -1 (sorted descending first: newest first for times)}
	 * opts.onSort(column, dir): the rows come sorted from elsewhere (the
	 * brain): a header's click calls it and the table keeps their
	 * order (a column's sort is then anything true: its key there).
	 */
	function dataTable(opts) {
		const cols = opts.columns;
		const tbody = el('tbody');
		const rows = new Map();
		const heads = [];
		let data = [];
		let sortCol = opts.sortCol === undefined ? -1 : opts.sortCol;
		let sortDir = opts.sortDir || (sortCol >= 0 &&
		    cols[sortCol].dir) || 1;
		const emptyRow = el('tr', {class: 'empty-row'},
		    el('td', {colspan: cols.length, class: 'muted'},
			opts.empty || 'Nothing to show.'));

		const thead = el('thead', null, el('tr', null, cols.map(
		    (c, i) => {
			const th = el('th', {scope: 'col', class: [c.class,
			    c.hideSmall ? 'hide-small' : ''].join(' ').trim() ||
			    null});
			if (c.sort) {
				const b = el('button', {type: 'button',
				    class: 'sort', on: {click: () => {
					/* a column's first click: its own
					 * direction (newest first for times) */
					sortDir = sortCol === i ? -sortDir :
					    c.dir || 1;
					sortCol = i;
					if (opts.onSort)
						opts.onSort(c, sortDir);
					render();
				}}}, c.label, el('span', {class: 'sort-mark',
				    'aria-hidden': 'true'}));
				th.appendChild(b);
			} else if (c.labelNode) {
				th.appendChild(c.labelNode);
			} else {
				setText(th, c.label);
			}
			heads.push(th);
			return th;
		})));

		function compare(a, b) {
			const x = cols[sortCol].sort(a);
			const y = cols[sortCol].sort(b);
			if (x === y)
				return 0;
			if (x === null || x === undefined)
				return 1;
			if (y === null || y === undefined)
				return -1;
			if (typeof x === 'string')
				return x.localeCompare(y, undefined,
				    {numeric: true}) * sortDir;
			return (x < y ? -1 : 1) * sortDir;
		}

		function render() {
			heads.forEach((th, i) => {
				if (!cols[i].sort)
					return;
				th.setAttribute('aria-sort', i === sortCol ?
				    (sortDir > 0 ? 'ascending' : 'descending') :
				    'none');
			});
			/* onSort: the rows come sorted (by the brain) */
			const list = !opts.onSort && sortCol >= 0 &&
			    cols[sortCol].sort ? data.slice().sort(compare) :
			    data;
			const seen = new Set();
			if (list.length === 0) {
				if (tbody.firstChild !== emptyRow ||
				    tbody.childNodes.length !== 1)
					replace(tbody, emptyRow);
				rows.clear();
				return;
			}
			if (emptyRow.parentNode)
				tbody.removeChild(emptyRow);
			list.forEach((item, idx) => {
				const k = String(opts.key(item));
				seen.add(k);
				let r = rows.get(k);
				if (!r) {
					r = {tr: el('tr'), tds: []};
					for (const c of cols) {
						const td = el(c.head ? 'th' :
						    'td', {class: [c.class,
						    c.hideSmall ? 'hide-small' :
						    ''].join(' ').trim() ||
						    null});
						if (c.head)
							td.setAttribute('scope',
							    'row');
						/* the phone layout's labels */
						if (c.label)
							td.dataset.label =
							    c.label;
						r.tds.push(td);
						r.tr.appendChild(td);
					}
					rows.set(k, r);
				}
				if (opts.rowClass)
					r.tr.className = opts.rowClass(item) ||
					    '';
				cols.forEach((c, i) => {
					let v = c.cell(item);
					if (!(v instanceof Node))
						v = document.createTextNode(
						    v === null || v === undefined ?
						    '' : String(v));
					const td = r.tds[i];
					if (td.querySelector('[data-open]'))
						return;
					if (contentSig(td) !== nodeSig(v))
						replace(td, v);
				});
				if (tbody.children[idx] !== r.tr)
					tbody.insertBefore(r.tr,
					    tbody.children[idx] || null);
			});
			for (const [k, r] of rows) {
				if (!seen.has(k)) {
					r.tr.remove();
					rows.delete(k);
				}
			}
		}

		const table = el('table', {class: 'table table-stack' +
		    (opts.tableClass ? ' ' + opts.tableClass : '')},
		    opts.caption ? el('caption', {class: 'visually-hidden'},
			opts.caption) : null, thead, tbody);
		return {
			node: el('div', {class: 'table-wrap'}, table),
			table: table,
			update: function (list) {
				data = list;
				render();
			},
		};
	}

	/* Runs fn(background) now and then every ms while the view lives
	 * and the page is visible; a slow answer is never overtaken. */
	function poll(ms, fn) {
		let busy = false;
		async function tick(background) {
			if (busy)
				return;
			busy = true;
			try {
				await fn(background);
			} finally {
				busy = false;
			}
		}
		every(ms, function () {
			if (!document.hidden)
				tick(true);
		});
		return tick;
	}

	async function copyText(text) {
		if (navigator.clipboard && window.isSecureContext) {
			try {
				await navigator.clipboard.writeText(text);
				return true;
			} catch (e) {
				/* fall back below */
			}
		}
		const ta = el('textarea', {class: 'offscreen',
		    readonly: true});
		ta.value = text;
		document.body.appendChild(ta);
		ta.select();
		let ok = false;
		try {
			ok = document.execCommand('copy');
		} catch (e) {
			ok = false;
		}
		ta.remove();
		return ok;
	}

	function copyButton(getText, label) {
		const b = button(label || 'Copy', {class: 'button-small'},
		    async function () {
			const ok = await copyText(getText());
			setText(b, ok ? 'Copied' : 'Select and copy');
			setTimeout(function () {
				setText(b, label || 'Copy');
			}, 2000);
		});
		return b;
	}

	/* ------------------------------------------------- line diff */

	function splitLines(text) {
		if (!text)
			return [];
		const lines = text.split('\n');
		if (lines[lines.length - 1] === '')
			lines.pop();
		return lines;
	}

	/*
	 * Line diff of a (older) and b (newer): [{op: ' '|'-'|'+', text}].
	 * Common head and tail are cut first; the middle is a longest
	 * common subsequence when it is small enough, else all of a's
	 * middle removed and b's added.
	 */
	function diffLines(a, b) {
		let start = 0;
		while (start < a.length && start < b.length &&
		    a[start] === b[start])
			start++;
		let ea = a.length, eb = b.length;
		while (ea > start && eb > start && a[ea - 1] === b[eb - 1]) {
			ea--;
			eb--;
		}
		const out = [];
		for (let i = 0; i < start; i++)
			out.push({op: ' ', text: a[i]});
		const x = a.slice(start, ea), y = b.slice(start, eb);
		const n = x.length, m = y.length;
		if (n * m > 9000000 || n > 65000 || m > 65000) {
			for (const t of x)
				out.push({op: '-', text: t});
			for (const t of y)
				out.push({op: '+', text: t});
		} else {
			/* lcs[i][j]: LCS of x[i..] and y[j..] */
			const w = m + 1;
			const lcs = new Uint16Array((n + 1) * w);
			for (let i = n - 1; i >= 0; i--)
				for (let j = m - 1; j >= 0; j--)
					lcs[i * w + j] = x[i] === y[j] ?
					    lcs[(i + 1) * w + j + 1] + 1 :
					    Math.max(lcs[(i + 1) * w + j],
					    lcs[i * w + j + 1]);
			let i = 0, j = 0;
			while (i < n && j < m) {
				if (x[i] === y[j]) {
					out.push({op: ' ', text: x[i]});
					i++;
					j++;
				} else if (lcs[(i + 1) * w + j] >=
				    lcs[i * w + j + 1]) {
					out.push({op: '-', text: x[i++]});
				} else {
					out.push({op: '+', text: y[j++]});
				}
			}
			while (i < n)
				out.push({op: '-', text: x[i++]});
			while (j < m)
				out.push({op: '+', text: y[j++]});
		}
		for (let i = ea; i < a.length; i++)
			out.push({op: ' ', text: a[i]});
		return out;
	}

	/* ------------------------------------------------ view switch */

	function root() {
		return document.getElementById('app');
	}

	/* state.timers: intervals, or functions that clean up */
	function stopTimers() {
		for (const t of state.timers)
			if (typeof t === 'function')
				t();
			else
				clearInterval(t);
		state.timers = [];
	}

	function every(ms, fn) {
		state.timers.push(setInterval(fn, ms));
	}

	/* Replace the whole page (login form, or the shell). */
	function showPage(node) {
		stopTimers();
		state.view += 1;
		const app = root();
		clear(app);
		app.appendChild(node);
		focusFirst(node);
	}

	function focusFirst(node) {
		const target = node.querySelector('[data-focus]') ||
		    node.querySelector('h1');
		if (target) {
			if (!target.hasAttribute('tabindex') &&
			    !/^(INPUT|BUTTON|SELECT|TEXTAREA)$/.test(
			    target.tagName))
				target.setAttribute('tabindex', '-1');
			target.focus({preventScroll: true});
		}
	}

	function sessionLost(why) {
		if (state.user === null)
			return;
		const minutes = state.sessionTimeout ?
		    (state.sessionTimeout >= 120 ?
		    Math.round(state.sessionTimeout / 60) + ' minutes' :
		    state.sessionTimeout + ' seconds') : null;
		const expired = /expired/.test(why || '');
		state.lastUser = state.user.name || '';
		endSession();
		showLogin({text: expired && minutes ?
		    'Your session ended after ' + minutes + ' without ' +
		    'activity. Please log in again.' :
		    'Your session ended. Please log in again.',
		    kind: 'warning'});
	}

	function endSession() {
		state.user = null;
		state.csrf = null;
		state.totpSetupRequired = false;
		state.shell = null;
		state.tentacles = [];
		state.runCache.clear();
		state.selection.clear();
		if (state.watchdog !== null) {
			clearInterval(state.watchdog);
			state.watchdog = null;
		}
	}

	/*
	 * The page's own refreshes do not keep the session alive, and some
	 * views do not refresh at all: once our own clock says the idle
	 * time is up, ask the brain (in the background); its 401 brings
	 * back the login form with the reason.
	 */
	function startWatchdog() {
		if (state.watchdog !== null)
			clearInterval(state.watchdog);
		state.nextCheck = 0;
		state.watchdog = setInterval(async function () {
			if (state.user === null || !state.sessionTimeout ||
			    state.checking)
				return;
			const now = Date.now();
			if (now - state.lastActive <
			    state.sessionTimeout * 1000 + 250 ||
			    now < state.nextCheck)
				return;
			state.checking = true;
			try {
				await api('GET', '/api/session', undefined,
				    {background: true});
				/* still alive: another tab kept it */
				state.nextCheck = now + Math.max(1000,
				    state.sessionTimeout * 100);
			} catch (e) {
				/* 401 handled by api(); others: retry */
				state.nextCheck = now + 2000;
			} finally {
				state.checking = false;
			}
		}, 500);
	}

	/* ------------------------------------------------------ login */

	function logo() {
		/* a CSS background: the page holds no <img> at all */
		return el('span', {class: 'logo', 'aria-hidden': 'true'});
	}

	function loginView(message) {
		const user = el('input', {id: 'login-user', name: 'username',
		    type: 'text', autocomplete: 'username', required: true,
		    autocapitalize: 'none', spellcheck: 'false'});
		const pass = el('input', {id: 'login-pass', name: 'password',
		    type: 'password', autocomplete: 'current-password',
		    required: true});
		/* shown when the brain asks for a code (totp_required) */
		const totp = el('input', {id: 'login-totp', name: 'totp',
		    type: 'text', inputmode: 'numeric', pattern: '[0-9]{6}',
		    maxlength: 6, autocomplete: 'one-time-code',
		    spellcheck: 'false'});
		const totpField = el('div', {class: 'field', id:
		    'login-totp-field', hidden: true},
		    el('label', {for: 'login-totp'}, 'Code (TOTP)'), totp,
		    el('p', {class: 'hint', id: 'login-totp-hint'},
			'The 6 digits your authenticator app shows.'));
		totp.setAttribute('aria-describedby', 'login-totp-hint');
		/* after an expiry the user name is known: ask the password */
		user.value = state.lastUser;
		(state.lastUser ? pass : user).dataset.focus = '';
		state.lastUser = '';
		const submitButton = el('button', {type: 'submit',
		    id: 'login-submit', class: 'button button-primary'},
		    'Log in');
		const status = notice(message);
		status.id = 'login-status';

		async function submit(ev) {
			ev.preventDefault();
			setNotice(status, '');
			submitButton.disabled = true;
			const body = {username: user.value,
			    password: pass.value};
			if (!totpField.hidden && totp.value !== '')
				body.totp = totp.value;
			try {
				const r = await api('POST', '/api/login', body,
				    {auth: true});
				pass.value = '';
				totp.value = '';
				state.user = r.user;
				state.csrf = r.csrf;
				state.totpSetupRequired =
				    r.totp_setup_required === true;
				await loadSession();
				showShell();
			} catch (e) {
				submitButton.disabled = false;
				totp.value = '';
				if (e.status === 401 && e.body &&
				    e.body.totp_required === true) {
					/* the password was right: keep it */
					const first = totpField.hidden;
					totpField.hidden = false;
					totp.required = true;
					setNotice(status, first ?
					    'Enter the code of your ' +
					    'authenticator app.' :
					    'Wrong or already used code: ' +
					    'wait for the next one.',
					    first ? 'info' : 'error');
					totp.focus();
					return;
				}
				pass.value = '';
				setNotice(status, loginError(e), 'error');
				if (e.status === 401 && user.value !== '')
					pass.focus();
				else
					user.focus();
			}
		}

		return el('main', {id: 'main', class: 'login-page'},
		    el('form', {class: 'card login-card', id: 'login-form',
			'aria-labelledby': 'login-title', on: {submit: submit}},
			el('div', {class: 'login-brand'}, logo(),
			    el('h1', {id: 'login-title'}, PRODUCT)),
			el('p', {class: 'muted'},
			    'Log in to supervise your tentacles.'),
			status,
			el('div', {class: 'field'},
			    el('label', {for: 'login-user'}, 'User name'),
			    user),
			el('div', {class: 'field'},
			    el('label', {for: 'login-pass'}, 'Password'),
			    pass),
			totpField,
			submitButton));
	}

	function loginError(e) {
		if (e.status === 401)
			return 'Wrong user name or password.';
		if (e.status === 429) {
			const wait = e.retryAfter !== null ?
			    ' Try again in ' + e.retryAfter + ' s.' :
			    ' Try again later.';
			return 'Too many login attempts.' + wait;
		}
		if (e.status === 400)
			return 'Enter a user name and a password.';
		return e.message;
	}

	/* What GET /api/session tells besides the user. */
	function sessionFacts(s) {
		state.sessionTimeout = s.session_timeout || null;
		state.brainAddress = typeof s.brain_address === 'string' &&
		    s.brain_address !== '' ? s.brain_address : null;
		state.registererPort = Number.isInteger(s.registerer_port) ?
		    s.registerer_port : null;
		state.totpSetupRequired = s.totp_setup_required === true;
	}

	async function loadSession() {
		try {
			const s = await api('GET', '/api/session', undefined,
			    {auth: true});
			sessionFacts(s);
			if (s.csrf)
				state.csrf = s.csrf;
			if (s.user)
				state.user = s.user;
		} catch (e) {
			/* the login worked: the timeout stays unknown */
		}
		state.lastActive = Date.now();
	}

	async function logout() {
		try {
			await api('POST', '/api/logout', {});
		} catch (e) {
			if (e.status === 401)
				return;	/* sessionLost() took over */
		}
		endSession();
		showLogin({text: 'You are logged out.', kind: 'info'});
	}

	/* ------------------------------------------------------ shell */

	function navItems() {
		const items = [['#/fleet', 'Fleet', 'fleet'],
		    ['#/runs', 'Runs', 'runs'],
		    ['#/scripts', 'Scripts', 'scripts'],
		    ['#/compliance', 'Compliance', 'compliance'],
		    ['#/schedules', 'Schedules', 'schedules']];
		if (isAdmin()) {
			items.push(['#/tokens', 'Tokens', 'tokens']);
			items.push(['#/users', 'Users', 'users']);
			items.push(['#/audit', 'Audit', 'audit']);
		}
		items.push(['#/brain', 'Brain', 'brain']);
		return items;
	}

	function shellView() {
		const u = state.user || {};
		const nav = el('nav', {class: 'nav', 'aria-label': 'Sections'},
		    el('ul', null, navItems().map(([href, label, key]) =>
			el('li', null, link(href, label, {class: 'nav-link',
			    dataset: {section: key}})))));
		const main = el('main', {id: 'main', class: 'content',
		    tabindex: '-1'});
		const flash = notice(null);
		flash.id = 'flash';
		return {
			main: main,
			nav: nav,
			flash: flash,
			node: el('div', {class: 'layout'},
			    el('header', {class: 'topbar'},
				el('a', {class: 'topbar-brand', href: '#/fleet'},
				    logo(), el('span', {class: 'product'},
				    PRODUCT)),
				el('div', {class: 'topbar-user'},
				    link('#/account', u.name || '',
					{class: 'user-name', id: 'user-name',
					title: 'Your account'}),
				    el('span', {class: 'badge badge-role',
					id: 'user-role'}, u.role || ''),
				    el('button', {type: 'button', id: 'logout',
					class: 'button button-ghost',
					on: {click: logout}}, 'Log out'))),
			    nav,
			    el('div', {class: 'content-wrap'}, flash, main)),
		};
	}

	function showShell() {
		document.title = PRODUCT;
		const shell = shellView();
		state.shell = shell;
		showPage(shell.node);
		startWatchdog();
		route();
	}

	/* ----------------------------------------------------- router */

	const ROUTES = [
		[/^\/fleet$/, 'fleet', fleetView],
		[/^\/tentacle\/(\d+)$/, 'fleet', tentacleView],
		[/^\/run$/, 'runs', newRunView],
		[/^\/runs$/, 'runs', runsView],
		[/^\/runs\/(\d+)$/, 'runs', runView],
		[/^\/results\/(\d+)$/, 'runs', resultView],
		[/^\/compare\/(\d+)\/(\d+)$/, 'runs', compareView],
		[/^\/tokens$/, 'tokens', tokensView, 'admin'],
		[/^\/users$/, 'users', usersView, 'admin'],
		[/^\/audit$/, 'audit', auditView, 'admin'],
		[/^\/account$/, 'account', accountView],
		[/^\/brain$/, 'brain', brainView],
		[/^\/scripts$/, 'scripts', scriptsView],
		[/^\/scripts\/([A-Za-z0-9_-][A-Za-z0-9._-]*)$/, 'scripts',
		    scriptView],
		[/^\/compliance$/, 'compliance', complianceView],
		[/^\/schedules$/, 'schedules', schedulesView],
	];

	function parseHash() {
		const h = location.hash.replace(/^#/, '') || '/fleet';
		const q = h.indexOf('?');
		const path = q === -1 ? h : h.slice(0, q);
		const query = new URLSearchParams(q === -1 ? '' :
		    h.slice(q + 1));
		return {path: path, query: query};
	}

	function go(hash) {
		if (location.hash === hash)
			route();
		else
			location.hash = hash;
	}

	function flash(text, kind) {
		state.flash = {text: text, kind: kind || 'info'};
	}

	function route() {
		if (state.shell === null)
			return;
		const {path, query} = parseHash();
		let view = null, section = 'fleet', params = [];
		let forbidden = false;
		for (const [rx, sec, fn, need] of ROUTES) {
			const m = rx.exec(path);
			if (m) {
				section = sec;
				/* numbers, but for names (scripts) */
				params = m.slice(1).map(x => /^\d+$/.test(x) ?
				    Number(x) : x);
				view = fn;
				if (need === 'admin' && !isAdmin())
					forbidden = true;
				break;
			}
		}
		/* totp_required: nothing else until a TOTP is set up */
		const totpFirst = state.totpSetupRequired &&
		    view !== accountView;
		if (totpFirst) {
			view = accountView;
			section = 'account';
			forbidden = false;
		}
		stopTimers();
		state.view += 1;
		const shell = state.shell;
		for (const a of shell.nav.querySelectorAll('a')) {
			if (a.dataset.section === section)
				a.setAttribute('aria-current', 'page');
			else
				a.removeAttribute('aria-current');
		}
		if (state.flash) {
			setNotice(shell.flash, state.flash.text,
			    state.flash.kind);
			state.flash = null;
		} else {
			setNotice(shell.flash, '');
		}
		if (totpFirst)
			setNotice(shell.flash, 'Your account needs ' +
			    'two-factor authentication: set up a TOTP ' +
			    'below to go on.', 'warning');
		let v;
		if (view === null)
			v = messageView('Page not found',
			    'There is no page at this address.');
		else if (forbidden)
			v = messageView('Not allowed',
			    'Your role (' + state.user.role + ') does not ' +
			    'give access to this page.');
		else
			v = view(params, query);
		replace(shell.main, v.node);
		document.title = (v.title ? v.title + ' — ' : '') + PRODUCT;
		window.scrollTo(0, 0);
		focusFirst(shell.main);
		if (v.start)
			v.start();
	}

	function messageView(title, text) {
		return {title: title, node: el('div', null,
		    pageHead(title), el('div', {class: 'card'},
			el('p', null, text),
			el('p', null, link('#/fleet', 'Back to the fleet'))))};
	}

	/* A view's loader: shows errors in its status box; 401 is the
	 * login form's business. Returns false when it failed. */
	async function guarded(status, fn, what) {
		try {
			await fn();
			if (status.dataset.loadError)
				setNotice(status, '');
			delete status.dataset.loadError;
			return true;
		} catch (e) {
			if (e.status === 401)
				return false;
			status.dataset.loadError = '1';
			setNotice(status, (what ? what + ': ' : '') +
			    errorText(e), e.status === 0 ? 'warning' : 'error');
			return false;
		}
	}

	/* ------------------------------------------------------ fleet */

	/*
	 * The fleet, whatever its size (SPEC "Lists at scale"): the brain
	 * filters, sorts and pages it (FLEET_PAGE rows at a time, keyset
	 * pages: the page's "next" is where the following one starts); only
	 * the page's rows are in the DOM; the counts at the top are the
	 * whole fleet's, from the same answer.
	 */
	const FLEET_PAGE = 100;
	const PENDING_CARD = 10;	/* hosts waiting shown above the fleet */
	/* the Status filter's values as the brain's filters */
	const FLEET_STATUS = {
		online: 'state=online&enrolment=accepted',
		offline: 'state=offline&enrolment=accepted',
		unknown: 'state=unknown&enrolment=accepted',
		pending: 'enrolment=pending',
		rejected: 'enrolment=rejected',
	};

	function fleetView() {
		const status = notice(null);
		const updated = updatedLine();
		const stats = el('div', {class: 'stats', id: 'fleet-stats'});
		const filterInput = el('input', {type: 'search',
		    id: 'fleet-filter', placeholder: 'Host name or address',
		    autocomplete: 'off', maxlength: 64});
		const statusFilter = select([['', 'All'],
		    ['online', 'Online'], ['offline', 'Offline'],
		    ['unknown', 'Not seen yet'], ['pending', 'Pending'],
		    ['rejected', 'Rejected']], '', {id: 'fleet-status'});
		const selBar = el('div', {class: 'selection-bar',
		    id: 'selection-bar', 'aria-live': 'polite'});
		const pendingSlot = el('div', {id: 'pending-slot'});
		const pageInfo = el('span', {class: 'muted small',
		    id: 'fleet-page-info', 'aria-live': 'polite'});
		const prevButton = button('Previous', {class: 'button-small',
		    id: 'fleet-prev'}, () => turn(-1));
		const nextButton = button('Next', {class: 'button-small',
		    id: 'fleet-next'}, () => turn(1));
		const pager = el('div', {class: 'toolbar pager',
		    id: 'fleet-pager'}, prevButton, pageInfo, nextButton);
		let shownRows = [];	/* the page's tentacles */
		let counts = null;
		/* afters[i]: where page i starts (null: the first); next: where
		 * the page after this one would */
		let afters = [null];
		let page = 0;
		let next = null;
		let sortKey = 'hostname';
		let sortDesc = false;
		let seq = 0;		/* the answer to the latest ask wins */

		const columns = [];
		if (canRun()) {
			const allBox = el('input', {type: 'checkbox',
			    id: 'select-all', 'aria-label':
			    'Select every shown accepted host',
			    on: {change: function () {
				for (const t of shownRows)
					if (t.enrolment === 'accepted') {
						if (allBox.checked)
							state.selection.add(
							    t.id);
						else
							state.selection.delete(
							    t.id);
					}
				fill();
			}}});
			columns.push({labelNode: allBox, class: 'check',
			    cell: t => t.enrolment !== 'accepted' ? '' :
			    el('input', {type: 'checkbox', class: 'select-host',
				'aria-label': 'Select ' + t.hostname,
				dataset: {id: t.id},
				on: {change: function (ev) {
					if (ev.target.checked)
						state.selection.add(t.id);
					else
						state.selection.delete(t.id);
					selectionBar();
				}}})});
		}
		/* sort: the brain's sort key of the column */
		columns.push(
		    {label: 'Host name', head: true, sort: 'hostname',
			cell: t => el('span', {class: 'host-cell'},
			    link('#/tentacle/' + t.id, t.hostname,
				{class: 'host-link'}),
			    t.duplicate_of ? badge('duplicate?', 'warn') :
			    null)},
		    {label: 'Address', class: 'mono', cell: t => t.address},
		    {label: 'Status', sort: 'state', cell: t => statusBadge(t)},
		    {label: 'Last seen', dir: -1, sort: 'last_seen',
			cell: t => timeEl(t.last_seen, true)},
		    {label: 'OS', hideSmall: true,
			cell: t => (t.facts || {}).os || '—'},
		    {label: 'Labels', hideSmall: true,
			cell: t => labelChips(t)});
		const table = dataTable({columns: columns, key: t => t.id,
		    caption: 'Tentacles', sortCol: canRun() ? 1 : 0,
		    empty: 'No tentacle yet. Add a host by its address, ' +
		    'or start octoTentacle on it with an enrolment token.',
		    rowClass: t => 'tentacle-row status-row-' +
		    tentacleStatus(t).key,
		    onSort: function (c, dir) {
			sortKey = c.sort;
			sortDesc = dir < 0;
			restart();
		    }});
		table.table.id = 'fleet-table';

		function query() {
			const q = filterInput.value.trim();
			const parts = ['limit=' + FLEET_PAGE,
			    'sort=' + (sortDesc ? '-' : '') + sortKey];
			if (FLEET_STATUS[statusFilter.value])
				parts.push(FLEET_STATUS[statusFilter.value]);
			if (q)
				parts.push('q=' + encodeURIComponent(q));
			if (afters[page] !== null)
				parts.push('after=' + afters[page]);
			return '/api/tentacles?' + parts.join('&');
		}

		function selectionBar() {
			if (!canRun())
				return;
			/* forget the shown hosts that are no longer accepted */
			for (const t of shownRows)
				if (t.enrolment !== 'accepted')
					state.selection.delete(t.id);
			const n = state.selection.size;
			if (n === 0) {
				replace(selBar, el('span', {class: 'muted'},
				    'Select hosts to run a script on them, ' +
				    'or run one on all of them.'));
				return;
			}
			replace(selBar, el('span', null,
			    plural(n, 'host') + ' selected'),
			    button('Run a script on ' + (n === 1 ? 'it' :
				'them'), {class: 'button-primary button-small',
				id: 'run-selected'}, function () {
				go('#/run?tentacles=' +
				    Array.from(state.selection).join(','));
			    }),
			    button('Clear', {class: 'button-small'},
				function () {
				state.selection.clear();
				fill();
			    }));
		}

		function fillPager() {
			const first = page * FLEET_PAGE + 1;
			const last = page * FLEET_PAGE + shownRows.length;
			const of = counts && !filterInput.value.trim() ?
			    (statusFilter.value ? counts[statusFilter.value] :
			    counts.total) : null;
			setText(pageInfo, shownRows.length === 0 ? '' :
			    'Hosts ' + first + '–' + last + (of !== null &&
			    of !== undefined ? ' of ' + of : ''));
			prevButton.disabled = page === 0;
			nextButton.disabled = next === null;
			pager.hidden = page === 0 && next === null;
		}

		function fill() {
			table.update(shownRows);
			for (const box of table.table.querySelectorAll(
			    'input.select-host'))
				box.checked = state.selection.has(
				    Number(box.dataset.id));
			const allBox = document.getElementById('select-all');
			if (allBox) {
				const acc = shownRows.filter(t =>
				    t.enrolment === 'accepted');
				const chosen = acc.filter(t =>
				    state.selection.has(t.id)).length;
				allBox.checked = acc.length > 0 &&
				    chosen === acc.length;
				allBox.indeterminate = chosen > 0 &&
				    chosen < acc.length;
			}
			selectionBar();
			fillPager();
		}

		function fillStats() {
			const n = k => counts ? counts[k] || 0 : 0;
			/* a host just accepted is "not seen yet" for a few
			 * seconds: apart, not counted as offline */
			const unseen = n('unknown');
			const items = [
			    ['online', 'Online', n('online'), 'ok'],
			    ['offline', 'Offline', n('offline'), 'err'],
			    unseen ? ['unknown', 'Not seen yet', unseen,
				'neutral'] : null,
			    ['pending', 'Pending', n('pending'), 'info'],
			    ['total', 'Total', n('total'), 'neutral']].filter(
			    x => x);
			stats.classList.toggle('stats-5', items.length === 5);
			const holder = el('div');
			for (const [k, label, v, kind] of items)
				holder.appendChild(el('button', {type: 'button',
				    class: 'stat stat-' + kind, id: 'stat-' + k,
				    title: k === 'total' ? 'Show every host' :
				    'Show ' + label.toLowerCase() + ' hosts',
				    on: {click: function () {
					statusFilter.value = k === 'total' ?
					    '' : k;
					restart();
				    }}},
				    el('span', {class: 'stat-n'}, v),
				    el('span', {class: 'stat-label'}, label)));
			if (contentSig(stats) !== contentSig(holder))
				replace(stats, Array.from(holder.childNodes));
		}

		/* outside the card, which goes once nothing is pending */
		const pendingStatus = notice(null);
		pendingStatus.id = 'decision-status';
		const pendingMore = el('p', {id: 'pending-more'});
		const pendingCols = [
		    {label: 'Host name', head: true, sort: t => t.hostname,
			cell: t => link('#/tentacle/' + t.id, t.hostname)},
		    {label: 'Address', class: 'mono', cell: t => t.address},
		    {label: 'Asked', cell: t => timeEl(t.enrolled_at, true)},
		    {label: 'Fingerprint', class: 'mono', hideSmall: true,
			cell: t => el('span', {title: t.fingerprint},
			    (t.fingerprint || '').slice(0, 16) + '…')}];
		if (isAdmin())
			pendingCols.push({label: 'Decision', class: 'actions-cell',
			    cell: t => el('span', {class: 'row-actions'},
				button('Approve', {class:
				    'button-primary button-small approve',
				    dataset: {id: t.id}},
				    () => decide(t, 'approve')),
				button('Reject', {class:
				    'button-danger-outline button-small reject',
				    dataset: {id: t.id}},
				    () => decide(t, 'reject')))});
		const pendingTable = dataTable({columns: pendingCols,
		    key: t => t.id, caption: 'Tentacles waiting for approval'});
		pendingTable.table.id = 'pending-table';
		const pendingCard = {node: el('section', {class:
		    'card card-attention', id: 'pending-card',
		    'aria-labelledby': 'pending-title'},
		    el('div', {class: 'card-head'},
			el('h2', {id: 'pending-title'},
			    'Waiting for approval')),
		    el('p', {class: 'muted small'}, isAdmin() ?
			'These hosts asked to enrol without a token. ' +
			'Approve only hosts you know; check the address ' +
			'and the fingerprint.' :
			'An administrator must approve or reject these ' +
			'hosts.'),
		    pendingTable.node, pendingMore)};

		/* the oldest PENDING_CARD of those waiting (counts.pending
		 * says how many in all; the Status filter lists them all) */
		async function fillPending(background) {
			if (!counts || counts.pending === 0) {
				clear(pendingSlot);
				return;
			}
			const r = await api('GET', '/api/tentacles?' +
			    'enrolment=pending&limit=' + PENDING_CARD, undefined,
			    {background: background});
			const pending = r.tentacles || [];
			if (!pendingSlot.firstChild)
				pendingSlot.appendChild(pendingCard.node);
			pendingTable.update(pending);
			if (counts.pending <= pending.length) {
				clear(pendingMore);
				delete pendingMore.dataset.sig;
				return;
			}
			const sig = 'more ' + pending.length + ' ' +
			    counts.pending;
			if (pendingMore.dataset.sig === sig)
				return;
			pendingMore.dataset.sig = sig;
			replace(pendingMore, el('span', {class: 'muted small'},
			    'The first ' + pending.length + ' of ' +
			    counts.pending + '. '),
			    button('Show every pending host', {class:
				'button-small', id: 'pending-all'}, function () {
				statusFilter.value = 'pending';
				restart();
			    }));
		}

		async function decide(t, what) {
			try {
				await api('POST', '/api/tentacles/' + t.id +
				    '/' + what, {});
				setNotice(pendingStatus, (what === 'approve' ?
				    'Approved ' : 'Rejected ') + t.hostname +
				    '.', what === 'approve' ? 'success' :
				    'info');
				await refresh(false);
			} catch (e) {
				if (e.status !== 401)
					setNotice(pendingStatus, errorText(e));
			}
		}

		async function refresh(background) {
			const mine = ++seq;
			await guarded(status, async function () {
				let r;
				try {
					r = await api('GET', query(), undefined,
					    {background: background});
				} catch (e) {
					/* the row a page started after was
					 * revoked: from the first page */
					if (e.status !== 400 || page === 0)
						throw e;
					afters = [null];
					page = 0;
					r = await api('GET', query(), undefined,
					    {background: background});
				}
				if (mine !== seq)
					return;
				shownRows = r.tentacles || [];
				counts = r.counts || null;
				next = r.next === undefined ? null : r.next;
				state.tentacles = learnHosts(shownRows);
				fillStats();
				fill();
				await fillPending(background);
				touch(updated);
			}, 'Tentacles unavailable');
		}

		/* Filters or order changed: from the first page. */
		function restart() {
			afters = [null];
			page = 0;
			refresh(false);
		}

		function turn(dir) {
			if (dir > 0 && next !== null) {
				afters[page + 1] = next;
				page++;
			} else if (dir < 0 && page > 0) {
				page--;
			} else {
				return;
			}
			afters.length = page + 1;
			refresh(false);
		}

		let typing = null;
		filterInput.addEventListener('input', function () {
			clearTimeout(typing);
			typing = setTimeout(restart, 200);
		});
		statusFilter.addEventListener('change', restart);

		const node = el('div', {class: 'stack'},
		    pageHead('Fleet', null, canRun() ?
			button('Run a script', {class: 'button-primary',
			    id: 'run-script'}, () => go('#/run')) : null),
		    status,
		    stats,
		    isAdmin() ? addHostCard(() => refresh(false)) : null,
		    pendingStatus,
		    pendingSlot,
		    cardWithHead('Tentacles', updated,
			el('div', {class: 'toolbar'},
			    field('Filter', filterInput),
			    field('Status', statusFilter)),
			canRun() ? selBar : null,
			table.node, pager));
		return {title: 'Fleet', node: node, start: function () {
			const tick = poll(REFRESH_MS, refresh);
			tick(false);
		}};
	}

	function addHostCard(onDone) {
		const addr = el('input', {type: 'text', id: 'enrol-address',
		    name: 'address', required: true, autocomplete: 'off',
		    spellcheck: 'false', inputmode: 'decimal',
		    placeholder: '192.0.2.10'});
		const port = el('input', {type: 'number', id: 'enrol-port',
		    name: 'port', min: 1, max: 65535, placeholder: '7000'});
		const code = el('input', {type: 'text', id: 'enrol-code',
		    name: 'code', autocomplete: 'off', spellcheck: 'false',
		    autocapitalize: 'characters', maxlength: 20,
		    placeholder: 'XXXX-XXXX-XXXX'});
		const go_ = el('button', {type: 'submit', id: 'enrol-submit',
		    class: 'button button-primary'}, 'Enrol host');
		const out = notice(null);
		out.id = 'enrol-status';
		async function submit(ev) {
			ev.preventDefault();
			const body = {address: addr.value.trim()};
			if (port.value !== '')
				body.port = Number(port.value);
			if (code.value.trim() !== '')
				body.code = code.value.trim();
			go_.disabled = true;
			setNotice(out, 'Contacting ' + body.address + '…',
			    'info');
			try {
				const r = await api('POST', '/api/tentacles',
				    body);
				const t = r && r.tentacle ? r.tentacle : {};
				setNotice(out, 'Enrolled ' + (t.hostname ||
				    body.address) + (t.id ? ' as tentacle ' +
				    t.id : '') + '. It is accepted; its ' +
				    'facts and scripts arrive within a few ' +
				    'seconds.',
				    'success');
				addr.value = '';
				port.value = '';
				code.value = '';
				onDone();
			} catch (e) {
				if (e.status !== 401)
					setNotice(out, 'Could not enrol ' +
					    body.address + ': ' + e.message +
					    '.', 'error');
			} finally {
				go_.disabled = false;
			}
		}
		return el('section', {class: 'card', id: 'add-host',
		    'aria-labelledby': 'add-host-title'},
		    el('div', {class: 'card-head'},
			el('h2', {id: 'add-host-title'}, 'Add a host'),
			link('#/tokens', 'or enrol with a token',
			    {class: 'small'})),
		    el('p', {class: 'muted small'}, 'The host must run ' +
			'octoTentacle, not yet enrolled (it listens on port ' +
			'7000). The brain connects to it and enrols it at ' +
			'once, if it knows the host\'s pairing code: ' +
			'octoTentacle --pairing-code prints it on the host ' +
			'(a host tied to this brain, or with pairing = off, ' +
			'has none).'),
		    el('form', {class: 'inline-form', on: {submit: submit}},
			field('IP address', addr),
			field('Port (optional)', port),
			field('Pairing code', code),
			el('div', {class: 'field field-button'}, go_)),
		    out);
	}

	/* --------------------------------------------------- tentacle */

	function tentacleView([id]) {
		const status = notice(null);
		const head = el('div');
		const details = el('div', {id: 'tentacle-details'});
		const scriptsTable = dataTable({columns: [
		    {label: 'Script', head: true, sort: s => s.name,
			class: 'mono', cell: s => s.name},
		    {label: 'Description', sort: s => s.description,
			class: 'wrap', cell: s => s.description || '—'},
		    {label: 'SHA-256', class: 'mono', hideSmall: true,
			cell: s => el('span', {title: s.sha256},
			    (s.sha256 || '').slice(0, 12) + '…')},
		    canRun() ? {label: 'Run', class: 'actions-cell',
			cell: s => button('Run', {class: 'button-small ' +
			    'run-one', dataset: {script: s.name}},
			    () => runNow(s.name))} : null,
		].filter(c => c), key: s => s.name + ' ' + s.sha256,
		    sortCol: 0, caption: 'Scripts of this tentacle',
		    empty: 'No script reported yet: a host just enrolled ' +
		    'reports its scripts within a few seconds, others at ' +
		    'each keepalive.'});
		const runStatus = notice(null);
		const hist = historyPanel(id);
		const labels = labelsCard(id, () => refresh(false));
		let tentacle = null;
		let headKey = null;

		async function runNow(script) {
			try {
				const r = await api('POST', '/api/runs',
				    {script: script, tentacles: [id]});
				go('#/runs/' + r.id);
			} catch (e) {
				if (e.status !== 401)
					setNotice(runStatus, errorText(e));
			}
		}

		function fillHead(t) {
			const actions = [];
			if (canRun() && t.enrolment === 'accepted')
				actions.push(button('Run a script', {class:
				    'button-primary', id: 'tentacle-run'},
				    () => go('#/run?tentacles=' + id)));
			if (isAdmin() && t.enrolment === 'pending') {
				actions.push(button('Approve', {class:
				    'button-primary'}, () => decide('approve')));
				actions.push(button('Reject', {class:
				    'button-danger-outline'},
				    () => decide('reject')));
			}
			if (isAdmin())
				actions.push(confirmButton('Revoke',
				    'Revoke ' + t.hostname + '? Its key will ' +
				    'be refused.', 'Yes, revoke', async () => {
					await api('DELETE', '/api/tentacles/' +
					    id);
					flash('Revoked ' + t.hostname + '.',
					    'success');
					go('#/fleet');
				}, status, {id: 'revoke'}));
			const h = pageHead(el('span', {class: 'title-with-badge'},
			    el('span', {class: 'title-text'}, t.hostname),
			    statusBadge(t)),
			    [['#/fleet', 'Fleet']], actions);
			/* rebuilt only when it changes: a revoke being
			 * confirmed survives the refreshes */
			const key = [t.hostname, tentacleStatus(t).key,
			    t.enrolment].join('\n');
			if (key === headKey)
				return;
			const oldH1 = head.querySelector('h1');
			const hadFocus = oldH1 && document.activeElement ===
			    oldH1;
			headKey = key;
			replace(head, h);
			if (hadFocus)
				h.querySelector('h1').focus(
				    {preventScroll: true});
		}

		async function decide(what) {
			try {
				await api('POST', '/api/tentacles/' + id + '/' +
				    what, {});
				await refresh(false);
			} catch (e) {
				if (e.status !== 401)
					setNotice(status, errorText(e));
			}
		}

		function fillDetails(t) {
			const f = t.facts || {};
			const known = ['os', 'kernel', 'arch', 'addresses',
			    'uptime_ms', 'managed_scripts',
			    'script_signing_key', 'labels'];
			const extra = Object.keys(f).filter(k =>
			    known.indexOf(k) === -1).sort();
			const factVal = v => Array.isArray(v) ? v.join(', ') :
			    (v !== null && typeof v === 'object' ?
			    JSON.stringify(v) : String(v));
			const node = el('div', {class: 'grid grid-2'},
			    card('Status', defList([
				['Status', statusBadge(t)],
				['Last seen', el('span', null,
				    timeEl(t.last_seen, true), ' ',
				    el('span', {class: 'muted'},
					t.last_seen ? '(' +
					fmtTime(t.last_seen) + ')' : ''))],
				['Enrolment', t.enrolment],
				['Enrolled', fmtTime(t.enrolled_at)],
				['Address', t.address + (t.port ? ' port ' +
				    t.port : ''), 'mono'],
				['Tentacle ID', String(t.id)],
				t.duplicate_of ? ['Same host as?',
				    link('#/tentacle/' + t.duplicate_of,
				    'tentacle ' + t.duplicate_of)] : null,
				['Certificate fingerprint', t.fingerprint,
				    'mono wrap-any']])),
			    card('Facts', defList([
				['Operating system', f.os || '—'],
				['Kernel', f.kernel || '—', 'mono'],
				['Architecture', f.arch || '—', 'mono'],
				['Addresses', Array.isArray(f.addresses) &&
				    f.addresses.length ?
				    f.addresses.join(', ') : '—', 'mono'],
				typeof f.uptime_ms === 'number' ? ['Uptime',
				    fmtUptime(f.uptime_ms / 1000) + ' at ' +
				    'its last keepalive'] : null,
				/* issue 14: what it takes from the brain */
				['Managed scripts', f.managed_scripts === true ?
				    'yes' + (f.script_signing_key ? '' :
				    ' (no signing key pinned yet)') :
				    f.managed_scripts === false ?
				    'no (managed_scripts = no)' :
				    'not supported by this tentacle'],
				...extra.map(k => [k, factVal(f[k])])])));
			const probe = el('div');
			probe.appendChild(node);
			if (contentSig(details) !== contentSig(probe))
				replace(details, node);
		}

		async function refresh(background) {
			const ok = await guarded(status, async function () {
				tentacle = await tentacleById(id,
				    {background: background});
				if (tentacle === null) {
					const e = new Error('There is no tentacle ' +
					    id + ' (revoked, or never enrolled).');
					throw e;
				}
				fillHead(tentacle);
				fillDetails(tentacle);
				labels.update(tentacle);
				const s = await api('GET', '/api/tentacles/' +
				    id + '/scripts', undefined,
				    {background: background});
				scriptsTable.update(s.scripts || []);
			});
			if (ok)
				await hist.refresh(background);
		}

		const node = el('div', {class: 'stack'},
		    head, status, details, labels.node,
		    card('Scripts', el('p', {class: 'muted small'},
			'The scripts this host has in its scripts directory, ' +
			'as it reported them at its last keepalive.'),
			runStatus, scriptsTable.node),
		    hist.node);
		replace(head, pageHead('Tentacle ' + id,
		    [['#/fleet', 'Fleet']]));
		return {title: 'Tentacle ' + id, node: node, start: function () {
			const tick = poll(REFRESH_MS, refresh);
			tick(false);
		}};
	}

	/* A tentacle's result history, with two picked to compare. */
	function historyPanel(tid) {
		const picked = [];
		const status = notice(null);
		const scriptFilter = select([['', 'All scripts']], '',
		    {id: 'history-script'});
		const compareBtn = button('Compare the two selected',
		    {class: 'button-primary button-small', id: 'compare',
		    disabled: true}, function () {
			const [a, b] = picked.slice().sort((x, y) => x - y);
			go('#/compare/' + a + '/' + b);
		});
		const hint = el('span', {class: 'muted small', id:
		    'compare-hint'}, '');
		let results = [];

		function pickBox(r) {
			return el('input', {type: 'checkbox', class: 'pick',
			    'aria-label': 'Select the result of ' +
			    fmtTime(r.started_at) + ' to compare',
			    dataset: {id: r.id, script: r.script},
			    on: {change: function (ev) {
				const i = picked.indexOf(r.id);
				if (ev.target.checked && i === -1)
					picked.push(r.id);
				if (!ev.target.checked && i !== -1)
					picked.splice(i, 1);
				while (picked.length > 2)
					picked.shift();
				sync();
			    }}});
		}

		function sync() {
			for (const box of table.table.querySelectorAll(
			    'input.pick'))
				box.checked = picked.indexOf(
				    Number(box.dataset.id)) !== -1;
			const chosen = results.filter(r =>
			    picked.indexOf(r.id) !== -1);
			const same = chosen.length === 2 &&
			    chosen[0].script === chosen[1].script;
			compareBtn.disabled = !same;
			setText(hint, chosen.length < 2 ?
			    'Select two results of the same script to see ' +
			    'what changed.' : same ? '' :
			    'The two results are of different scripts.');
		}

		const table = dataTable({columns: [
		    {labelNode: el('span', {class: 'visually-hidden'},
			'Compare'), class: 'check', cell: pickBox},
		    {label: 'Started', dir: -1,
			sort: r => Date.parse(r.started_at),
			cell: r => link('#/results/' + r.id,
			    fmtTime(r.started_at), {class: 'result-link'})},
		    {label: 'Script', sort: r => r.script, class: 'mono',
			cell: r => r.script},
		    {label: 'Outcome', sort: r => outcome(r, 'done').key,
			cell: r => outcomeBadge(outcome(r, 'done'))},
		    {label: 'Duration', class: 'num', sort: r => r.duration_ms,
			cell: r => fmtDuration(r.duration_ms)},
		    {label: 'Run', class: 'num', hideSmall: true,
			sort: r => r.run,
			cell: r => link('#/runs/' + r.run, '#' + r.run)},
		], key: r => r.id, sortCol: 1, caption: 'Result history',
		    empty: 'No result yet.'});
		table.table.id = 'history-table';

		function fill() {
			const want = scriptFilter.value;
			table.update(results.filter(r => !want ||
			    r.script === want));
			sync();
		}

		function fillScripts() {
			const names = Array.from(new Set(results.map(r =>
			    r.script))).sort();
			const have = Array.from(scriptFilter.options).slice(1)
			    .map(o => o.value);
			if (have.join('\n') === names.join('\n'))
				return;
			const cur = scriptFilter.value;
			while (scriptFilter.options.length > 1)
				scriptFilter.remove(1);
			for (const n of names)
				scriptFilter.appendChild(el('option',
				    {value: n}, n));
			scriptFilter.value = names.indexOf(cur) === -1 ? '' :
			    cur;
		}

		scriptFilter.addEventListener('change', fill);

		return {
			node: cardWithHead('Result history',
			    el('div', {class: 'head-tools'},
				link('#/runs?host=' + tid, 'Runs on this host',
				    {class: 'small', id: 'history-runs'}),
				compareBtn),
			    status,
			    el('div', {class: 'toolbar'},
				field('Script', scriptFilter), hint),
			    table.node),
			refresh: async function (background) {
				await guarded(status, async function () {
					const r = await api('GET',
					    '/api/tentacles/' + tid +
					    '/results?findings=0', undefined,
					    {background: background});
					results = r.results || [];
					fillScripts();
					fill();
				}, 'History unavailable');
			},
		};
	}

	/* ---------------------------------------------------- new run */

	const HOST_MATCHES = 50;	/* hosts a picker shows for a search */

	/*
	 * Hosts to choose among thousands: the chosen ones, ticked, then
	 * the first HOST_MATCHES accepted hosts by name the brain finds for
	 * what is typed (q=: in the name or the address; SPEC "Lists at
	 * scale"). onTick when a box changes, onDraw when the list is new.
	 */
	function hostPicker(id, onTick, onDraw) {
		const chosen = new Map();	/* ID: tentacle */
		let found = [], more = false, seq = 0;
		const input = el('input', {type: 'search', id: id + '-find',
		    placeholder: 'Find hosts by name or address',
		    autocomplete: 'off', spellcheck: 'false', maxlength: 64,
		    'aria-label': 'Find hosts by name or address'});
		const list = el('div', {class: 'host-choices', id: id});
		const note = el('p', {class: 'muted small', id: id + '-note',
		    'aria-live': 'polite'});

		function draw() {
			clear(list);
			const rows = Array.from(chosen.values()).concat(
			    found.filter(t => !chosen.has(t.id)));
			if (rows.length === 0)
				list.appendChild(el('p', {class: 'muted'},
				    input.value.trim() ? 'No accepted host ' +
				    'matches.' : 'No accepted host yet.'));
			for (const t of rows) {
				const bid = newId('host');
				const box = el('input', {type: 'checkbox',
				    id: bid, value: t.id});
				box.checked = chosen.has(t.id);
				box.addEventListener('change', function () {
					if (box.checked)
						chosen.set(t.id, t);
					else
						chosen.delete(t.id);
					onTick();
				});
				list.appendChild(el('label', {class:
				    'host-choice', for: bid}, box,
				    el('span', {class: 'host-choice-name'},
					t.hostname),
				    el('span', {class: 'mono muted small'},
					t.address || ''),
				    t.state ? statusBadge(t) : null,
				    el('span', {class: 'lacks-note small'})));
			}
			setText(note, more ? 'The first ' + found.length +
			    ' by name' + (input.value.trim() ? ' of those ' +
			    'that match' : '') + ': type a part of a name or ' +
			    'address to find others.' : '');
			onDraw();
		}

		async function search(background) {
			const mine = ++seq;
			const r = await findTentacles(input.value.trim(),
			    HOST_MATCHES, 'accepted', {background: background});
			if (mine === seq) {
				found = learnHosts(r.tentacles);
				more = r.next !== null && r.next !== undefined;
				draw();
			}
			return r;
		}

		input.addEventListener('input', debounced(200, function () {
			search(false).catch(e => setText(note, errorText(e)));
		}));
		/* Enter finds, it does not send the form */
		input.addEventListener('keydown', function (ev) {
			if (ev.key === 'Enter')
				ev.preventDefault();
		});

		return {
			node: el('div', {class: 'host-picker'}, input, note, list),
			list: list,
			search: search,
			chosen: () => Array.from(chosen.keys()),
			/* IDs chosen elsewhere (the Fleet's selection, a
			 * schedule): their names as known, else asked */
			choose: async function (ids) {
				chosen.clear();
				for (const n of ids)
					chosen.set(n, state.hosts.get(n) ||
					    {id: n, hostname: hostName(n)});
				draw();
				const unknown = ids.filter(n =>
				    !state.hosts.has(n)).slice(0, 20);
				const got = await Promise.all(unknown.map(n =>
				    tentacleById(n).catch(() => null)));
				for (const t of got)
					if (t && chosen.has(t.id))
						chosen.set(t.id, t);
				if (got.length)
					draw();
			},
		};
	}

	function newRunView(params, query) {
		const status = notice(null);
		status.id = 'run-status';
		const want = (query.get('tentacles') || '').split(',')
		    .map(Number).filter(n => Number.isInteger(n) && n > 0);
		const preScript = query.get('script') || '';
		const scriptList = el('div', {class: 'choice-list',
		    id: 'script-choices', role: 'radiogroup',
		    'aria-labelledby': 'script-legend'});
		const allRadio = el('input', {type: 'radio', name: 'target',
		    id: 'target-all', value: 'all'});
		const someRadio = el('input', {type: 'radio', name: 'target',
		    id: 'target-some', value: 'some'});
		const byLabel = runLabelTarget(() => update());
		const picker = hostPicker('host-choices', function () {
			someRadio.checked = true;
			update();
		}, () => update());
		const hostList = picker.list;
		const summary = el('p', {class: 'run-summary', id:
		    'run-summary', 'aria-live': 'polite'});
		const submitBtn = el('button', {type: 'submit', id:
		    'run-submit', class: 'button button-primary'},
		    'Run');
		const scriptFilter = el('input', {type: 'search',
		    id: 'script-filter', placeholder: 'Filter scripts',
		    autocomplete: 'off', 'aria-label': 'Filter scripts'});
		/* by name: {name, description, tentacles (a Set of IDs)} */
		let scripts = [];
		let accepted = 0;	/* from the brain's counts */
		let loaded = false;

		if (want.length)
			someRadio.checked = true;
		else
			allRadio.checked = true;

		function chosenScript() {
			const r = scriptList.querySelector(
			    'input[name=script]:checked');
			return r ? scripts.find(s => s.name === r.value) : null;
		}

		function update() {
			const s = chosenScript();
			const some = someRadio.checked;
			hostList.classList.toggle('is-disabled', !some);
			for (const box of hostList.querySelectorAll(
			    'input[type=checkbox]')) {
				const row = box.closest('.host-choice');
				const lacks = s && !s.tentacles.has(
				    Number(box.value));
				row.classList.toggle('lacks', !!lacks);
				const note = row.querySelector('.lacks-note');
				setText(note, lacks ?
				    'does not have this script' : '');
			}
			const hosts = some ? picker.chosen() : [];
			const labels = byLabel.radio.checked;
			const n = some ? hosts.length : labels ? 1 : accepted;
			/* the chosen hosts that lack it, or all less those
			 * that have it (the brain holds scripts of accepted
			 * hosts only) */
			const missing = some ? hosts.filter(h => s &&
			    !s.tentacles.has(h)).length : labels || !s ? 0 :
			    Math.max(0, accepted - s.tentacles.size);
			let text;
			if (!s)
				text = 'Choose a script.';
			else if (labels && !byLabel.valid())
				text = 'Give one or more labels (a-z, 0-9, ' +
				    '".", "_", "-"), separated by commas.';
			else if (n === 0)
				text = some ? 'Choose at least one host.' :
				    'No accepted host yet.';
			else if (labels && byLabel.found() === false)
				text = 'No accepted host has these labels.';
			else if (labels)
				text = 'Run ' + s.name + ' on the accepted ' +
				    'hosts with the label' + (byLabel.labels()
				    .length > 1 ? 's ' : ' ') +
				    byLabel.labels().join(', ') + '.';
			else {
				text = 'Run ' + s.name + ' on ' + (some ?
				    plural(hosts.length, 'host') :
				    'all ' + plural(n, 'accepted host')) +
				    '.' + (missing ? ' ' + plural(missing,
				    'of them does', 'of them do') +
				    ' not have it' + (s.managed ?
				    ' yet: the brain pushes it first (a host ' +
				    'that takes no managed scripts fails).' :
				    ': ' + (missing === 1 ? 'it' : 'they') +
				    ' will report an error.') : '');
			}
			setText(summary, text);
			submitBtn.disabled = !s || n === 0 ||
			    (labels && (!byLabel.valid() ||
			    byLabel.found() === false));
		}

		function filterScripts() {
			const q = scriptFilter.value.trim().toLowerCase();
			for (const row of scriptList.querySelectorAll(
			    '.choice'))
				row.hidden = q !== '' && row.dataset.search
				    .indexOf(q) === -1;
		}

		function fillScripts() {
			clear(scriptList);
			if (scripts.length === 0) {
				scriptList.appendChild(el('p', {class: 'muted',
				    id: 'no-script'}, accepted === 0 ?
				    'No script known yet: there is no accepted ' +
				    'host. Add or approve one in the Fleet.' :
				    'No script known yet: a host just enrolled ' +
				    'reports its scripts within a few seconds ' +
				    '(this list refreshes by itself), others at ' +
				    'their next keepalive.'));
				return;
			}
			for (const s of scripts) {
				const rid = newId('script');
				const radio = el('input', {type: 'radio',
				    name: 'script', id: rid, value: s.name,
				    on: {change: update}});
				if (s.name === preScript)
					radio.checked = true;
				scriptList.appendChild(el('label', {class:
				    'choice', for: rid, dataset: {search:
				    (s.name + ' ' + s.description)
				    .toLowerCase(), script: s.name}},
				    radio,
				    el('span', {class: 'choice-body'},
					el('span', {class: 'choice-name'},
					    s.name),
					el('span', {class: 'choice-desc'},
					    s.description || 'No description.'),
					el('span', {class: 'choice-meta'},
					    'on ' + s.tentacles.size + ' of ' +
					    plural(accepted, 'host') +
					    (s.variants > 1 ? ' · ' + s.variants +
					    ' different versions' : '')))));
			}
		}

		async function load(background) {
			await guarded(status, async function () {
				const opts = {background: background};
				/* the first hosts by name, and the counts */
				const [tr, sr] = await Promise.all([
				    picker.search(background),
				    api('GET', '/api/scripts', undefined, opts)]);
				accepted = acceptedCount(tr.counts);
				/* one entry per name, whatever the versions */
				const byName = new Map();
				for (const s of sr.scripts || []) {
					let e = byName.get(s.name);
					if (!e) {
						e = {name: s.name,
						    description: s.description,
						    tentacles: new Set(), variants: 0,
						    managed: s.managed === true};
						byName.set(s.name, e);
					}
					e.variants += 1;
					for (const t of s.tentacles)
						e.tentacles.add(t);
				}
				scripts = Array.from(byName.values()).sort(
				    (a, b) => a.name.localeCompare(b.name));
				setText(allLabel, 'All accepted hosts (' +
				    accepted + ')');
				/* a reload keeps what was ticked */
				const keep = scriptList.querySelector(
				    'input[name=script]:checked');
				fillScripts();
				if (keep) {
					const r = scriptList.querySelector(
					    'input[name=script][value="' +
					    CSS.escape(keep.value) + '"]');
					if (r)
						r.checked = true;
				}
				filterScripts();
				if (!loaded && want.length)
					await picker.choose(want);
				loaded = true;
				update();
			}, 'Cannot load the scripts');
		}

		async function submit(ev) {
			ev.preventDefault();
			const s = chosenScript();
			if (!s)
				return;
			const body = byLabel.radio.checked ?
			    {script: s.name, labels: byLabel.labels()} :
			    {script: s.name, tentacles:
			    someRadio.checked ? picker.chosen() : 'all'};
			submitBtn.disabled = true;
			try {
				const r = await api('POST', '/api/runs', body);
				go('#/runs/' + r.id);
			} catch (e) {
				if (e.status !== 401)
					setNotice(status, 'The run was not ' +
					    'started: ' + e.message + '.');
				submitBtn.disabled = false;
			}
		}

		const allLabel = el('span', null, 'All accepted hosts');
		allRadio.addEventListener('change', update);
		someRadio.addEventListener('change', update);
		scriptFilter.addEventListener('input', filterScripts);

		if (!canRun())
			return messageView('Not allowed', 'Your role (' +
			    state.user.role + ') cannot run scripts.');

		const node = el('div', {class: 'stack'},
		    pageHead('Run a script', [['#/runs', 'Runs']]),
		    status,
		    el('form', {class: 'stack', id: 'run-form',
			on: {submit: submit}},
			el('fieldset', {class: 'card'},
			    el('legend', {id: 'script-legend'}, '1. Script'),
			    scriptFilter, scriptList),
			el('fieldset', {class: 'card'},
			    el('legend', null, '2. Hosts'),
			    el('div', {class: 'radio-row'},
				el('label', {for: 'target-all',
				    class: 'radio'}, allRadio, allLabel),
				el('label', {for: 'target-some',
				    class: 'radio'}, someRadio,
				    'Chosen hosts'),
				byLabel.node),
			    picker.node),
			el('div', {class: 'card run-bar'}, summary,
			    submitBtn)));
		return {title: 'Run a script', node: node, start: function () {
			/* hosts just enrolled report their scripts at their
			 * first keepalive: wait for them */
			const tick = poll(REFRESH_MS, async function (bg) {
				if (scripts.length === 0 || accepted === 0)
					await load(bg);
			});
			tick(false);
		}};
	}

	/* ------------------------------------------------------- runs */

	/* A run's script and creator (for titles): cached, without the
	 * outputs. */
	async function runInfo(id, background) {
		const c = state.runCache.get(id);
		if (c)
			return c;
		const r = await api('GET', '/api/runs/' + id + '?output=0',
		    undefined, {background: background});
		const info = {id: r.id, script: r.script,
		    created_at: r.created_at, created_by: r.created_by};
		state.runCache.set(id, info);
		return info;
	}

	const JOB_STATES = ['queued', 'sent', 'running', 'done', 'failed',
	    'timeout', 'unreachable', 'refused', 'expired'];
	const PENDING_STATES = ['queued', 'sent', 'running'];

	/*
	 * A run at a glance, as the brain's "summary" gives it: jobs,
	 * states {queued, sent, running, done, failed, timeout,
	 * unreachable}, finished, compliant, findings, errors (a script
	 * that exited with another status or a signal, or a job that
	 * failed, timed out or found its host unreachable). Made from the
	 * jobs when the brain sent none.
	 */
	function runSummary(run) {
		if (run.summary && run.summary.states)
			return run.summary;
		const jobs = run.jobs || [];
		const s = {jobs: jobs.length, states: {}, finished: 0,
		    compliant: 0, findings: 0, errors: 0};
		for (const st of JOB_STATES)
			s.states[st] = 0;
		for (const j of jobs) {
			s.states[j.state] = (s.states[j.state] || 0) + 1;
			if (!isFinished(j))
				continue;
			s.finished += 1;
			const k = outcome(j.result, j.state, j.message).key;
			if (k === 'compliant')
				s.compliant += 1;
			else if (k === 'findings')
				s.findings += 1;
			else
				s.errors += 1;
		}
		return s;
	}

	/* The summary's counts the badges show: unreachable hosts apart
	 * from the other errors, unfinished jobs by state. */
	function summaryCounts(s) {
		const st = s.states || {};
		const n = k => Number(st[k]) || 0;
		/* errors: scripts that ran and went wrong, apart from the
		 * jobs that failed, timed out or were unreachable */
		const errors = s.errors || 0;
		return {compliant: s.compliant || 0, findings: s.findings || 0,
		    errors: Math.max(0, errors - n('unreachable')),
		    error: Math.max(0, errors - n('unreachable') - n('failed') -
			n('timeout')),
		    failed: n('failed'), timeout: n('timeout'),
		    unreachable: n('unreachable'), queued: n('queued'),
		    sent: n('sent'), running: n('running'),
		    progress: Math.max(0, (s.jobs || 0) - (s.finished || 0))};
	}

	function summaryBadges(s) {
		const counts = summaryCounts(s);
		const out = el('span', {class: 'summary'});
		const parts = [['compliant', 'compliant', 'ok',
		    'exit status 0'],
		    ['findings', 'findings', 'warn', 'exit status 1'],
		    ['error', 'error', 'err', 'another exit status, or a ' +
			'signal'],
		    ['failed', 'failed', 'err', 'the tentacle could not run ' +
			'the script or give its result'],
		    ['timeout', 'timeout', 'err', 'killed at the time limit'],
		    ['unreachable', 'unreachable', 'err',
			'the host could not be reached'],
		    ['running', 'running', 'info',
			'the tentacle is running the script'],
		    ['sent', 'sent', 'info',
			'handed to the commander, not yet acknowledged'],
		    ['queued', 'queued', 'info', 'not yet sent']];
		for (const [k, label, kind, why] of parts)
			if (counts[k])
				out.appendChild(el('span', {class: 'badge badge-' +
				    kind + ' outcome-' + k, title: why},
				    counts[k] + ' ' + (k === 'error' &&
				    counts[k] > 1 ? 'errors' : label)));
		/* a brain that does not count sent/running apart */
		const shown = counts.queued + counts.sent + counts.running;
		if (counts.progress > shown)
			out.appendChild(badge((counts.progress - shown) +
			    ' in progress', 'info', 'outcome-progress'));
		return out;
	}

	/* The outcome filter of the run history, on a run's summary. */
	const RUN_OUTCOMES = [['', 'Any outcome'],
	    ['progress', 'In progress'], ['compliant', 'All compliant'],
	    ['findings', 'With findings'], ['error', 'With errors'],
	    ['unreachable', 'With unreachable hosts']];
	function runHasOutcome(s, want) {
		const c = summaryCounts(s);
		switch (want) {
		case '':
			return true;
		case 'progress':
			return c.progress > 0;
		case 'compliant':
			return s.jobs > 0 && c.compliant === s.jobs;
		case 'error':
			return c.errors > 0;
		default:
			return c[want] > 0;
		}
	}

	/*
	 * The verdict of one host's own job in a run, from the
	 * "tentacle_job" GET /api/runs?tentacle=ID gives: compliant (done,
	 * exit 0), findings (done, exit 1), error (anything else finished:
	 * done with another status or a signal, failed, timeout,
	 * unreachable), or in progress.
	 */
	function hostJobOutcome(tj) {
		const r = tj.result;
		if (tj.state !== 'done' || !r)
			return outcome(null, tj.state);
		if (r.signal !== null && r.signal !== undefined)
			return {key: 'error', label: 'error', kind: 'err',
			    why: 'killed by signal ' + r.signal};
		if (r.exit_status === 0)
			return {key: 'compliant', label: 'compliant',
			    kind: 'ok', why: 'exit status 0'};
		if (r.exit_status === 1)
			return {key: 'findings', label: 'findings',
			    kind: 'warn', why: 'exit status 1'};
		return {key: 'error', label: 'error', kind: 'err',
		    why: typeof r.exit_status === 'number' ? 'exit status ' +
		    r.exit_status : 'the script did not run to its end'};
	}

	/* The outcome filter of the run history, on one host's own job;
	 * its error takes every finished job that is neither compliant
	 * nor with findings, unreachable included. */
	const HOST_OUTCOMES = [['', 'Any outcome'],
	    ['progress', 'In progress'], ['compliant', 'Compliant'],
	    ['findings', 'Findings'], ['error', 'Error or unreachable'],
	    ['unreachable', 'Unreachable']];
	function hostHasOutcome(tj, want) {
		if (want === '')
			return true;
		if (want === 'progress')
			return PENDING_STATES.indexOf(tj.state) !== -1;
		if (want === 'unreachable')
			return tj.state === 'unreachable';
		const k = hostJobOutcome(tj).key;
		if (want === 'error')
			return k === 'error' || k === 'unreachable';
		return k === want;
	}

	/* The host's verdict in a history row, with its result if any. */
	function hostVerdict(r, host) {
		const tj = r.tentacle_job;
		if (!tj)
			return '';
		const out = el('span', {class: 'host-verdict', dataset:
		    {outcome: hostJobOutcome(tj).key}},
		    outcomeBadge(hostJobOutcome(tj)));
		if (tj.result && tj.result.id !== undefined)
			out.appendChild(link('#/results/' + tj.result.id,
			    'Result', {class: 'small host-result',
			    'aria-label': 'Result of run #' + r.id + ' on ' +
			    hostName(Number(host))}));
		return out;
	}

	function runsView(params, query) {
		const status = notice(null);
		const updated = updatedLine();
		/* the filters asked for in the address are options at once */
		const askedHost = /^\d+$/.test(query.get('host') || '') ?
		    query.get('host') : '';
		const askedScript = query.get('script') || '';
		const hostFilter = select([['', 'All hosts']].concat(askedHost ?
		    [[askedHost, hostName(Number(askedHost))]] : []),
		    askedHost, {id: 'runs-host'});
		const scriptFilter = select([['', 'All scripts']].concat(
		    askedScript ? [[askedScript, askedScript]] : []),
		    askedScript, {id: 'runs-script'});
		const statusFilter = select(RUN_OUTCOMES,
		    query.get('status') || '', {id: 'runs-status'});
		const note = el('p', {class: 'muted small', id: 'runs-note'});
		let runs = [];
		let runsHost = '';	/* the host filter runs was asked with */
		let loaded = false;
		let hostsLoaded = false;	/* the first hosts found */
		let hostPairs = [];		/* [ID, name] of those */
		const hostFind = el('input', {type: 'search', id:
		    'runs-host-find', placeholder: 'Find a host',
		    autocomplete: 'off', spellcheck: 'false', maxlength: 64,
		    'aria-label': 'Find a host by name or address'});

		const table = dataTable({columns: [
		    {label: 'Run', class: 'num', dir: -1, sort: r => r.id,
			cell: r => link('#/runs/' + r.id, '#' + r.id,
			    {class: 'run-link'})},
		    {label: 'Script', class: 'mono', sort: r => r.script,
			cell: r => r.script},
		    {label: 'Started', dir: -1,
			sort: r => Date.parse(r.created_at),
			cell: r => timeEl(r.created_at, false)},
		    {label: 'By', hideSmall: true, sort: r => r.created_by,
			cell: r => r.created_by},
		    {label: 'Hosts', class: 'num', cell: r => {
			const s = runSummary(r);
			return el('span', {title: s.finished + ' of ' +
			    plural(s.jobs, 'host') + ' finished'},
			    s.finished + '/' + s.jobs);
		    }},
		    {label: 'This host', class: 'host-col',
			sort: r => r.tentacle_job ? HOST_OUTCOMES.findIndex(
			    o => o[0] === hostJobOutcome(r.tentacle_job).key) :
			    null,
			cell: r => hostVerdict(r, runsHost)},
		    {label: 'Outcome', cell: r => summaryBadges(runSummary(r))},
		], key: r => r.id, sortCol: 0, caption: 'Runs',
		    empty: 'No run matches.'});
		table.table.id = 'runs-table';
		const noRun = el('p', {class: 'muted', id: 'runs-none',
		    hidden: true}, canRun() ? 'No run yet. Choose New run to ' +
		    'run a script on your hosts.' : 'No run yet.');

		function matches(r) {
			if (scriptFilter.value && r.script !==
			    scriptFilter.value)
				return false;
			/* a host chosen: its own job, not the whole run */
			if (r.tentacle_job)
				return hostHasOutcome(r.tentacle_job,
				    statusFilter.value);
			return runHasOutcome(runSummary(r), statusFilter.value);
		}

		/* The outcome filter's words: of one host's job or of runs. */
		function labelOutcomes() {
			const words = hostFilter.value ? HOST_OUTCOMES :
			    RUN_OUTCOMES;
			for (const o of Array.from(statusFilter.options)) {
				const w = words.find(x => x[0] === o.value);
				if (w && o.textContent !== w[1])
					setText(o, w[1]);
			}
		}

		const viewNo = state.view;
		function fill() {
			labelOutcomes();
			table.table.classList.toggle('by-host',
			    runsHost !== '' && runsHost === hostFilter.value);
			table.update(runs.filter(matches));
			/* a first-time user sees what to do, not a filter */
			const none = runs.length === 0 && !hostFilter.value &&
			    !scriptFilter.value && !statusFilter.value &&
			    loaded;
			noRun.hidden = !none;
			table.node.hidden = none;
			note.hidden = false;
			setText(note, runs.length >= 500 ? 'The 500 most ' +
			    'recent runs' + (hostFilter.value ? ' of this ' +
			    'host' : '') + ' are shown.' : '');
			note.hidden = note.textContent === '';
			if (state.view !== viewNo)
				return;	/* left: the address is another view's */
			const q = new URLSearchParams();
			if (hostFilter.value)
				q.set('host', hostFilter.value);
			if (scriptFilter.value)
				q.set('script', scriptFilter.value);
			if (statusFilter.value)
				q.set('status', statusFilter.value);
			const s = q.toString();
			history.replaceState(null, '', '#/runs' +
			    (s ? '?' + s : ''));
		}

		function syncOptions(sel, pairs) {
			const cur = sel.value;
			const want = pairs.map(p => p.join('\u0000')).join('\n');
			const have = Array.from(sel.options).slice(1).map(o =>
			    o.value + '\u0000' + o.textContent).join('\n');
			if (want === have)
				return;
			while (sel.options.length > 1)
				sel.remove(1);
			for (const [v, l] of pairs)
				sel.appendChild(el('option', {value: v}, l));
			sel.value = cur;
			if (sel.value !== cur) {
				/* keep a value asked for in the address */
				sel.appendChild(el('option', {value: cur},
				    sel === hostFilter ? hostName(Number(cur)) :
				    cur));
				sel.value = cur;
			}
		}

		async function refresh(background) {
			await guarded(status, async function () {
				/* the brain picks the runs of a host; asked
				 * again if the host changed meanwhile */
				let host, rr;
				do {
					host = hostFilter.value;
					/* the first hosts by name (or found
					 * by the search), not the fleet */
					[rr] = await Promise.all([
					    /* the newest RUNS_PAGE, as before
					     * the lists had pages */
					    api('GET', '/api/runs?' + (host ?
						'tentacle=' + encodeURIComponent(
						host) + '&' : '') + 'limit=' +
						RUNS_PAGE,
						undefined, {background: background}),
					    hostsLoaded ? null : findHosts(true),
					    host && !state.hosts.has(Number(host)) ?
						tentacleById(Number(host), {background:
						true}).catch(() => null) : null]);
					if (state.view !== viewNo)
						return;
				} while (host !== hostFilter.value);
				runs = rr.runs || [];
				runsHost = host;
				loaded = true;
				const scripts = new Set(runs.map(r => r.script));
				if (scriptFilter.value)
					scripts.add(scriptFilter.value);
				syncOptions(scriptFilter, Array.from(scripts)
				    .sort().map(s => [s, s]));
				syncOptions(hostFilter, hostPairs);
				fill();
				touch(updated);
			}, 'Runs unavailable');
		}

		/* The first HOST_MATCHES hosts by name whose name or address
		 * has what is typed: the host filter's options. */
		async function findHosts(background) {
			const q = hostFind.value.trim();
			const r = await findTentacles(q, HOST_MATCHES, '',
			    {background: background});
			if (q !== hostFind.value.trim())
				return;
			hostPairs = learnHosts(r.tentacles).map(t =>
			    [String(t.id), t.hostname]);
			hostsLoaded = true;
		}
		hostFind.addEventListener('input', debounced(200, function () {
			guarded(status, async function () {
				await findHosts(false);
				syncOptions(hostFilter, hostPairs);
			}, 'Hosts unavailable');
		}));

		let tick = null;
		hostFilter.addEventListener('change', function () {
			/* the rows of another host are not shown meanwhile */
			if (hostFilter.value !== runsHost) {
				runs = [];
				fill();
			}
			tick(false);
		});
		for (const s of [scriptFilter, statusFilter])
			s.addEventListener('change', fill);

		const node = el('div', {class: 'stack'},
		    pageHead('Runs', null, canRun() ? button('New run',
			{class: 'button-primary', id: 'new-run'},
			() => go('#/run')) : null),
		    status,
		    cardWithHead('Run history', updated,
			el('div', {class: 'toolbar'},
			    field('Find a host', hostFind),
			    field('Host', hostFilter),
			    field('Script', scriptFilter),
			    field('Outcome', statusFilter)),
			note, noRun, table.node));
		return {title: 'Runs', node: node, start: function () {
			tick = poll(REFRESH_MS, refresh);
			tick(false);
		}};
	}

	/*
	 * One result's output, always as text. The audit scripts' findings
	 * (lines that start with FAIL, WARN, OK...) are coloured by a class
	 * on their line; the text itself is untouched. Above it, the counts
	 * of its checks by status (the brain's findings), or of its lines
	 * by kind when no line is a finding; none with counts: false (the
	 * result's page has them with its findings).
	 */
	const LINE_KINDS = [[/^(FAIL|ERROR|CRIT)/, 'line-fail'],
	    [/^(WARN|SKIP)/, 'line-warn'], [/^(OK|PASS)\b/, 'line-ok']];
	function outputBlock(result, opts) {
		const pre = el('pre', {class: 'output', tabindex: '0'});
		const output = typeof result.output === 'string' ?
		    result.output : '';
		const lines = output.split('\n');
		/* how many lines of each kind: the findings at a glance */
		const tally = {'line-fail': 0, 'line-warn': 0, 'line-ok': 0};
		const big = lines.length > 3000;
		if (big)
			setText(pre, output);
		lines.forEach((line, i) => {
			const kind = LINE_KINDS.find(k => k[0].test(line));
			if (kind)
				tally[kind[1]] += 1;
			if (big)
				return;
			const text = i < lines.length - 1 ? line + '\n' : line;
			if (text === '')
				return;
			pre.appendChild(kind ? el('span', {class: kind[1]},
			    text) : document.createTextNode(text));
		});
		const checked = Array.isArray(result.findings) &&
		    result.findings.some(f => f.check !== null);
		const counts = opts && opts.counts === false ? el('p') :
		    checked ? el('p', {class: 'output-counts summary ' +
		    'finding-counts'}, findingCounts(result.findings)) :
		    el('p', {class: 'output-counts summary'},
		    [['line-fail', 'FAIL', 'err'], ['line-warn', 'WARN',
		    'warn'], ['line-ok', 'OK', 'ok']].filter(k =>
		    tally[k[0]]).map(k => badge(tally[k[0]] + ' ' + k[1] +
		    (tally[k[0]] === 1 ? ' line' : ' lines'), k[2])));
		return el('div', {class: 'output-wrap'},
		    counts.firstChild ? counts : null,
		    output === '' ? el('p', {class: 'muted small'},
			'No output.') : pre,
		    result.truncated ? el('p', {class: 'muted small'},
			'The output was cut at the tentacle\'s limit.') : null);
	}

	/* The result of the same script on the same host just before this
	 * one, or null. */
	async function previousResult(tentacle, script, resultId) {
		const r = await api('GET', '/api/tentacles/' + tentacle +
		    '/results?findings=0');
		const older = (r.results || []).filter(x =>
		    x.script === script && x.id < resultId)
		    .sort((a, b) => b.id - a.id);
		return older.length ? older[0] : null;
	}

	function compareButton(tentacle, script, resultId, status) {
		return button('Compare with the previous result',
		    {class: 'button-small compare-prev'}, async function () {
			try {
				const p = await previousResult(tentacle, script,
				    resultId);
				if (p === null)
					setNotice(status, 'There is no earlier ' +
					    'result of ' + script + ' on this ' +
					    'host.', 'info');
				else
					go('#/compare/' + p.id + '/' + resultId);
			} catch (e) {
				if (e.status !== 401)
					setNotice(status, errorText(e));
			}
		});
	}

	/* ---------------------------------------------------- findings */

	/*
	 * A result's findings (SPEC "Findings"): the lines of its output
	 * that read STATUS CHECK-ID TEXT, with the check's references,
	 * title and fix from the brain's checks_file ({"check", "status",
	 * "text", "refs", "title", "fix"}; check null for a line that did
	 * not parse, refs, title and fix null for a check the brain does
	 * not know). Failing first, then in the order of the output.
	 */
	const FINDING_STATUSES = ['FAIL', 'WARN', 'INFO', 'SKIP', 'OK'];
	const FINDING_KIND = {FAIL: 'err', WARN: 'warn', INFO: 'info',
	    SKIP: 'neutral', OK: 'ok'};

	function findingRank(f) {
		if (f.check === null)
			return FINDING_STATUSES.length;	/* plain text: last */
		const i = FINDING_STATUSES.indexOf(f.status);
		return i < 0 ? FINDING_STATUSES.length : i;
	}

	function findingBadge(status) {
		return badge(status, FINDING_KIND[status] || 'neutral',
		    'finding-status');
	}

	/* "2 FAIL 1 WARN 14 OK": the checks of a result at a glance. */
	function findingCounts(findings) {
		const n = {};
		for (const f of findings)
			if (f.check !== null)
				n[f.status] = (n[f.status] || 0) + 1;
		return FINDING_STATUSES.filter(st => n[st]).map(st =>
		    badge(n[st] + ' ' + st, FINDING_KIND[st]));
	}

	function none() {
		return el('span', {class: 'muted'}, '—');
	}

	/* A CHECK-ID that may break after its dots and slashes. */
	function checkId(id) {
		return el('span', {class: 'check-id'}, String(id).split(
		    /(?<=[./])/).map((part, i) => [i ? el('wbr') : null, part]));
	}

	function refsList(refs) {
		if (!Array.isArray(refs) || refs.length === 0)
			return none();
		return el('ul', {class: 'refs'}, refs.map(r =>
		    el('li', null, el('code', null, String(r)))));
	}

	function findingsCard(result) {
		const all = result.findings;
		const headId = newId('card');
		const head = el('div', {class: 'card-head'},
		    el('h2', {id: headId}, 'Findings'));
		const section = el('section', {class: 'card findings',
		    id: 'findings', 'aria-labelledby': headId}, head);
		if (!Array.isArray(all)) {
			section.appendChild(el('p', {class: 'muted'}, 'Too ' +
			    'many findings to list here: see the output.'));
			return section;
		}
		if (!all.some(f => f.check !== null)) {
			section.appendChild(el('p', {class: 'muted'}, 'No line ' +
			    'of this output is a finding (STATUS CHECK-ID ' +
			    'TEXT): see the output.'));
			return section;
		}
		head.appendChild(el('p', {class: 'summary finding-counts',
		    id: 'finding-counts'}, findingCounts(all)));
		const rows = all.map((f, i) => Object.assign({seq: i}, f));
		const show = select([['', 'All findings'], ['problems',
		    'FAIL and WARN only'], ['checks', 'Checks only (no plain ' +
		    'text)']], '', {id: 'findings-show'});
		const table = dataTable({
		    columns: [
			{label: 'Status', cell: f => findingBadge(f.status),
			    sort: f => findingRank(f)},
			{label: 'Check', class: 'mono finding-check',
			    cell: f => f.check === null ? none() :
				checkId(f.check),
			    sort: f => f.check === null ? null : f.check},
			{label: 'Finding', class: 'wrap finding-text',
			    cell: f => f.text},
			{label: 'Title', class: 'wrap finding-title',
			    cell: f => f.title === null ? none() : f.title},
			{label: 'Fix', class: 'wrap finding-fix',
			    cell: f => f.fix === null ? none() : f.fix},
			{label: 'References', class: 'finding-refs',
			    cell: f => refsList(f.refs)},
		    ],
		    key: f => f.seq, sortCol: 0, caption: 'Findings',
		    tableClass: 'findings-table', empty: 'No finding to show.',
		    rowClass: f => 'finding finding-' + (f.check === null ?
			'text' : String(f.status).toLowerCase())});
		function fill() {
			const want = show.value;
			table.update(rows.filter(f => want === '' ||
			    (want === 'checks' && f.check !== null) ||
			    (want === 'problems' && f.check !== null &&
			    (f.status === 'FAIL' || f.status === 'WARN'))));
		}
		show.addEventListener('change', fill);
		fill();
		table.table.id = 'findings-table';
		section.appendChild(el('div', {class: 'toolbar'},
		    field('Show', show)));
		section.appendChild(table.node);
		return section;
	}

	/*
	 * What changed between two results, check by check: each check's
	 * worst status in each (a check may print several lines), and
	 * new FAIL (FAIL now, not before), resolved (FAIL or WARN before,
	 * OK now) or changed (any other difference, a check that appeared
	 * or is no longer reported included).
	 */
	function checkStatuses(findings) {
		const m = new Map();
		for (const f of findings) {
			if (f.check === null)
				continue;
			const had = m.get(f.check);
			if (!had || findingRank(f) < findingRank(had))
				m.set(f.check, f);
		}
		return m;
	}

	const CHANGE_ORDER = {'new-fail': 0, changed: 1, resolved: 2};
	const CHANGE_TEXT = {'new-fail': ['New FAIL', 'err'],
	    resolved: ['Resolved', 'ok'], changed: ['Changed', 'info']};

	function checkChanges(before, after) {
		const a = checkStatuses(before), b = checkStatuses(after);
		const out = [];
		for (const id of new Set([...a.keys(), ...b.keys()])) {
			const x = a.get(id), y = b.get(id);
			const was = x ? x.status : null;
			const now = y ? y.status : null;
			if (was === now)
				continue;
			const kind = now === 'FAIL' ? 'new-fail' :
			    (was === 'FAIL' || was === 'WARN') && now === 'OK' ?
			    'resolved' : 'changed';
			out.push({check: id, before: was, after: now, kind: kind,
			    title: (y && y.title) || (x && x.title) || null,
			    text: y ? y.text : x.text});
		}
		return out.sort((p, q) => CHANGE_ORDER[p.kind] -
		    CHANGE_ORDER[q.kind] || (p.check < q.check ? -1 : 1));
	}

	function checkChangesCard(old, neu) {
		const headId = newId('card');
		const stats = el('p', {class: 'summary', id: 'checks-stats'});
		const section = el('section', {class: 'card',
		    id: 'checks-changed', 'aria-labelledby': headId},
		    el('div', {class: 'card-head'},
			el('h2', {id: headId}, 'Checks that changed'), stats));
		if (!Array.isArray(old.findings) ||
		    !Array.isArray(neu.findings)) {
			setText(stats, 'One of these results has too many ' +
			    'findings to compare them check by check.');
			return section;
		}
		const checked = f => f.check !== null;
		if (!old.findings.some(checked) && !neu.findings.some(checked)) {
			setText(stats, 'Neither result has findings (STATUS ' +
			    'CHECK-ID TEXT lines) to compare.');
			return section;
		}
		const changes = checkChanges(old.findings, neu.findings);
		if (changes.length === 0) {
			setText(stats, 'No check changed status.');
			return section;
		}
		append(stats, ['new-fail', 'resolved', 'changed'].map(k => {
			const n = changes.filter(c => c.kind === k).length;
			return n ? badge(n + ' ' + CHANGE_TEXT[k][0].toLowerCase()
			    .replace('new fail', 'new FAIL'), CHANGE_TEXT[k][1]) :
			    null;
		}));
		const status = st => st === null ? el('span', {class: 'muted'},
		    'not reported') : findingBadge(st);
		const table = dataTable({
		    columns: [
			{label: 'Change', cell: c => badge(CHANGE_TEXT[c.kind][0],
			    CHANGE_TEXT[c.kind][1])},
			{label: 'Check', class: 'mono finding-check',
			    cell: c => checkId(c.check)},
			{label: 'Before', cell: c => status(c.before)},
			{label: 'After', cell: c => status(c.after)},
			{label: 'Title', class: 'wrap',
			    cell: c => c.title === null ? none() : c.title},
			{label: 'Finding now', class: 'wrap finding-text',
			    cell: c => c.text},
		    ],
		    key: c => c.check, caption: 'Checks that changed status',
		    tableClass: 'changes-table',
		    rowClass: c => 'change change-' + c.kind});
		table.table.id = 'changes-table';
		table.update(changes);
		section.appendChild(table.node);
		return section;
	}

	/* What a job's state means, in the words used everywhere. */
	const STATE_TEXT = {
		queued: 'Queued: waiting to be sent to the tentacle.',
		sent: 'Sent: handed to the commander, waiting for the ' +
		    'tentacle to acknowledge.',
		running: 'Running: the tentacle acknowledged and runs the ' +
		    'script.',
		done: 'Done: the script ran.',
		failed: 'Failed: the tentacle could not run the script or ' +
		    'give its result.',
		timeout: 'Timeout: the script was killed at the tentacle\'s ' +
		    'time limit.',
		unreachable: 'Unreachable: the brain could not reach the ' +
		    'tentacle.',
	};

	/*
	 * One run, live. The run is polled without its outputs
	 * (GET /api/runs/ID?output=0); a job's output is fetched
	 * (GET /api/results/ID) when its card comes into view, or as soon
	 * as the job finishes while the page watches: results as they
	 * arrive, and a run of a thousand hosts costs what is looked at.
	 */
	function runView([id]) {
		const status = notice(null);
		const head = el('div', {class: 'run-head'});
		const progress = el('div', {class: 'progress',
		    role: 'progressbar', 'aria-valuemin': 0,
		    'aria-label': 'Hosts finished'},
		    el('div', {class: 'progress-bar'}));
		const progressText = el('p', {class: 'progress-text',
		    id: 'run-progress', 'aria-live': 'polite'});
		const jobsBox = el('div', {class: 'jobs', id: 'jobs'});
		const show = select([['', 'All hosts'], ['problems',
		    'Findings and errors only']], '', {id: 'jobs-show'});
		const cards = new Map();	/* job ID -> card */
		const outputs = new Map();	/* result ID -> full result */
		const loading = new Set();	/* result IDs being fetched */
		const queue = [];		/* cards whose output to fetch */
		let fetching = 0;
		let run = null;
		const viewNo = state.view;
		const observer = 'IntersectionObserver' in window ?
		    new IntersectionObserver(function (entries) {
			for (const e of entries) {
				const c = e.target.octoCard;
				if (!c)
					continue;
				c.inView = e.isIntersecting;
				if (c.inView)
					wantOutput(c);
			}
		    }, {rootMargin: '600px 0px'}) : null;

		function jobCard(job) {
			const c = {
			    badge: el('span'),
			    meta: el('div', {class: 'job-meta small'}),
			    message: el('p', {class: 'job-message notice ' +
				'notice-error', hidden: true}),
			    body: el('div', {class: 'job-body'}),
			    note: notice(null),
			    key: null,
			    job: job,
			    inView: observer === null,
			    /* finished while this page watched: its output
			     * is fetched at once */
			    watched: false,
			};
			c.node = el('article', {class: 'job card',
			    dataset: {tentacle: job.tentacle}},
			    el('header', {class: 'job-head'},
				el('h2', {class: 'job-host'},
				    link('#/tentacle/' + job.tentacle,
					job.hostname)),
				c.badge),
			    c.meta, c.message, c.note, c.body);
			c.node.octoCard = c;
			if (observer)
				observer.observe(c.node);
			return c;
		}

		function outputSlot(c, text) {
			return el('div', {class: 'output-slot'},
			    el('p', {class: 'muted small output-loading'}, text));
		}

		function fillJob(c, job) {
			c.job = job;
			const o = outcome(job.result, job.state, job.message);
			/* only what changed: an open output keeps its scroll */
			const key = job.state + ':' + (job.result ?
			    job.result.id : '') + ':' + (job.message || '') +
			    ':' + (job.expires_at || '');
			if (c.key === key)
				return;
			if (c.key !== null && isFinished(job) && job.result)
				c.watched = true;
			c.key = key;
			c.node.dataset.outcome = o.key;
			c.node.dataset.state = job.state;
			replace(c.badge, outcomeBadge(o));
			/* the brain's reason, as a sentence; and until when
			 * it waits for its host */
			const m = job.message || '';
			const w = waitingNote(job);
			setText(c.message, (m && (m.charAt(0).toUpperCase() +
			    m.slice(1) + (/[.!?]$/.test(m) ? '' : '.'))) +
			    (m && w ? ' ' : '') + w);
			c.message.hidden = !job.message && !w;
			/* waiting is no error (yet) */
			c.message.classList.toggle('notice-error', !!m &&
			    job.state !== 'queued');
			c.message.classList.toggle('notice-info', !m ||
			    job.state === 'queued');
			const r = job.result;
			if (r) {
				c.node.dataset.result = r.id;
				replace(c.meta,
				    el('span', null, 'Started ',
					timeEl(r.started_at, false)),
				    el('span', null, 'Duration ',
					fmtDuration(r.duration_ms)),
				    el('span', null, o.why || ''),
				    r.sha256 ? el('span', {class: 'mono small ' +
					'job-sha256', title: r.sha256},
					'SHA-256 ' + shortHash(r.sha256)) : null);
				c.slot = outputs.has(r.id) ?
				    el('div', {class: 'output-slot'},
					outputBlock(outputs.get(r.id))) :
				    outputSlot(c, 'Output not loaded yet…');
				replace(c.body, c.slot,
				    el('div', {class: 'job-actions'},
					link('#/results/' + r.id, 'Full result',
					    {class: 'small'}),
					compareButton(job.tentacle, run.script,
					    r.id, c.note)));
				wantOutput(c);
			} else {
				delete c.node.dataset.result;
				c.slot = null;
				replace(c.meta, el('span', {class: 'job-state'},
				    STATE_TEXT[job.state] || job.state));
				clear(c.body);
			}
		}

		/* Fetch the output of a card's result if it is wanted now. */
		function wantOutput(c) {
			const r = c.job.result;
			if (!r || outputs.has(r.id) || loading.has(r.id) ||
			    !(c.inView || c.watched) || c.node.hidden)
				return;
			loading.add(r.id);
			queue.push({c: c, rid: r.id});
			pump();
		}

		function pump() {
			while (fetching < 4 && queue.length) {
				const {c, rid} = queue.shift();
				fetching += 1;
				api('GET', '/api/results/' + rid, undefined,
				    {background: true}).then(function (r) {
					outputs.set(rid, r);
					if (state.view === viewNo && c.slot &&
					    c.job.result && c.job.result.id ===
					    rid)
						replace(c.slot, outputBlock(r));
				}, function (e) {
					if (e.status !== 401 && c.slot &&
					    state.view === viewNo)
						replace(c.slot, el('p', {class:
						    'muted small'}, 'The output ' +
						    'could not be loaded: ' +
						    errorText(e)));
				}).finally(function () {
					loading.delete(rid);
					fetching -= 1;
					if (state.view === viewNo)
						pump();
				});
			}
		}

		function fill() {
			const jobs = run.jobs || [];
			const s = runSummary(run);
			const done = s.finished;
			progress.setAttribute('aria-valuemax', s.jobs);
			progress.setAttribute('aria-valuenow', done);
			progress.firstChild.style.width = (s.jobs ?
			    Math.round(100 * done / s.jobs) : 100) + '%';
			progress.classList.toggle('progress-done',
			    done === s.jobs);
			replace(progressText, el('span', {class:
			    'progress-count'}, done + ' of ' +
			    plural(s.jobs, 'host') + ' finished'),
			    summaryBadges(s));
			const wanted = show.value;
			for (const job of jobs) {
				let c = cards.get(job.id);
				if (!c) {
					c = jobCard(job);
					cards.set(job.id, c);
					jobsBox.appendChild(c.node);
				}
				const o = outcome(job.result, job.state,
				    job.message);
				c.node.hidden = wanted === 'problems' &&
				    o.key === 'compliant';
				fillJob(c, job);
			}
		}

		let headDone = false;
		function fillHead() {
			if (headDone)
				return;
			headDone = true;
			replace(head, pageHead(el('span', null, 'Run #' + id +
			    ': ', el('span', {class: 'mono'}, run.script)),
			    [['#/runs', 'Runs']], canRun() ?
			    button('Run again', {id: 'run-again'}, () =>
				go('#/run?script=' + encodeURIComponent(
				run.script) + '&tentacles=' + run.jobs.map(j =>
				j.tentacle).join(','))) : null),
			    defList([['Started', fmtTime(run.created_at)],
				['By', run.created_by],
				['Hosts', String(run.jobs.length)]]));
			focusFirst(head);
		}

		async function refresh(background) {
			await guarded(status, async function () {
				/* its jobs by pages; the summary is the
				 * run's whole on every page */
				const p = await allPages('/api/runs/' + id +
				    '?output=0&limit=' + RUN_JOBS_PAGE, 'jobs',
				    {background: background});
				if (state.view !== viewNo)
					return;
				run = Object.assign({}, p.last, {jobs: p.rows});
				fillHead();
				fill();
			});
		}

		/* How many beats of RUN_REFRESH_MS until the next poll. */
		function period() {
			if (run === null)
				return 1;
			const jobs = run.jobs || [];
			if (!jobs.every(isFinished))
				/* a big run's list is longer: less often */
				return Math.ceil(jobs.length / 250);
			/* a job failed as lost still gets its result if the
			 * tentacle spooled one: keep an eye on it */
			if (jobs.some(j => j.state === 'failed' && j.message))
				return 5;
			return 0;
		}

		show.addEventListener('change', function () {
			fill();
			for (const c of cards.values())
				wantOutput(c);
		});
		const node = el('div', {class: 'stack'},
		    head, status,
		    el('div', {class: 'card progress-card'}, progressText,
			progress, el('div', {class: 'toolbar'},
			    field('Show', show))),
		    jobsBox);
		replace(head, pageHead('Run #' + id, [['#/runs', 'Runs']]));
		return {title: 'Run #' + id, node: node, start: function () {
			let busy = false;
			const tick = async bg => {
				if (busy || state.view !== viewNo)
					return;
				busy = true;
				try {
					await refresh(bg);
				} finally {
					busy = false;
				}
			};
			let beat = 0;
			const timer = setInterval(() => {
				const every = period();
				beat += 1;
				if (every > 0 && !document.hidden &&
				    beat % every === 0)
					tick(true);
			}, RUN_REFRESH_MS);
			state.timers.push(timer);
			if (observer)
				state.timers.push(() => observer.disconnect());
			tick(false);
		}};
	}

	function resultView([id]) {
		const status = notice(null);
		const body = el('div', {class: 'stack'});
		const head = el('div');
		replace(head, pageHead('Result #' + id, [['#/runs', 'Runs']]));
		async function load() {
			await guarded(status, async function () {
				const r = await api('GET', '/api/results/' + id);
				let script = '';
				try {
					script = (await runInfo(r.run)).script;
				} catch (e) {
					if (e.status === 401)
						throw e;
				}
				const o = outcome(r, 'done');
				const note = notice(null);
				replace(head, pageHead(el('span', null,
				    script ? el('span', {class: 'mono'}, script) :
				    'Result', ' on ' + r.hostname),
				    [['#/runs', 'Runs'], ['#/runs/' + r.run,
				    'Run #' + r.run]],
				    script ? compareButton(r.tentacle, script,
				    r.id, note) : null));
				focusFirst(head);
				replace(body, note, el('div', {class: 'card'},
				    defList([['Outcome', outcomeBadge(o)],
					['Detail', o.why || '—'],
					['Host', link('#/tentacle/' + r.tentacle,
					    r.hostname)],
					['Started', fmtTime(r.started_at)],
					['Duration', fmtDuration(r.duration_ms)],
					['Run', link('#/runs/' + r.run, '#' +
					    r.run)],
					/* the script that ran (issue 14) */
					r.sha256 ? ['Script SHA-256', el('span',
					    {class: 'mono small', id:
					    'result-sha256'}, r.sha256)] :
					    null])),
				    findingsCard(r),
				    card('Output', outputBlock(r,
					{counts: false})));
			});
		}
		return {title: 'Result #' + id, node: el('div', {class:
		    'stack'}, head, status, body), start: load};
	}

	function compareView([a, b]) {
		const status = notice(null);
		const body = el('div', {class: 'stack'});
		const only = el('input', {type: 'checkbox', id: 'diff-only'});
		let lines = null;

		function renderDiff(pre) {
			clear(pre);
			const context = 3;
			const keep = new Array(lines.length).fill(!only.checked);
			if (only.checked)
				lines.forEach((l, i) => {
					if (l.op === ' ')
						return;
					for (let k = Math.max(0, i - context);
					    k <= Math.min(lines.length - 1,
					    i + context); k++)
						keep[k] = true;
				});
			let skipped = 0;
			const frag = document.createDocumentFragment();
			const flush = () => {
				if (skipped)
					frag.appendChild(el('span', {class:
					    'diff-line diff-skip'}, '… ' +
					    plural(skipped, 'unchanged line') +
					    '\n'));
				skipped = 0;
			};
			lines.forEach((l, i) => {
				if (!keep[i]) {
					skipped++;
					return;
				}
				flush();
				const cls = l.op === '+' ? 'diff-add' :
				    l.op === '-' ? 'diff-del' : 'diff-same';
				frag.appendChild(el('span', {class:
				    'diff-line ' + cls}, l.op + ' ' + l.text +
				    '\n'));
			});
			flush();
			pre.appendChild(frag);
		}

		async function load() {
			await guarded(status, async function () {
				const [ra, rb] = await Promise.all([
				    api('GET', '/api/results/' + a),
				    api('GET', '/api/results/' + b)]);
				const [old, neu] = Date.parse(ra.started_at) <=
				    Date.parse(rb.started_at) && ra.id <= rb.id ?
				    [ra, rb] : [rb, ra];
				let sa = '', sb = '';
				try {
					sa = (await runInfo(old.run)).script;
					sb = (await runInfo(neu.run)).script;
				} catch (e) {
					if (e.status === 401)
						throw e;
				}
				lines = diffLines(splitLines(old.output),
				    splitLines(neu.output));
				const added = lines.filter(l => l.op === '+')
				    .length;
				const removed = lines.filter(l => l.op === '-')
				    .length;
				const warn = [];
				if (old.tentacle !== neu.tentacle)
					warn.push('These results are from ' +
					    'different hosts.');
				if (sa && sb && sa !== sb)
					warn.push('These results are of ' +
					    'different scripts.');
				const pre = el('pre', {class: 'output diff',
				    id: 'diff', tabindex: '0'});
				only.checked = lines.length > 40;
				only.addEventListener('change',
				    () => renderDiff(pre));
				const side = (r, s, label) => el('div',
				    {class: 'card compare-side'},
				    el('h2', null, label),
				    defList([['Started', link('#/results/' +
					r.id, fmtTime(r.started_at))],
					['Outcome', outcomeBadge(outcome(r,
					    'done'))],
					['Duration', fmtDuration(r.duration_ms)],
					['Run', link('#/runs/' + r.run, '#' +
					    r.run)]]));
				replace(head, pageHead(el('span', null,
				    'Compare ', el('span', {class: 'mono'},
				    sb || sa || 'results'), ' on ' +
				    neu.hostname), [['#/runs', 'Runs'],
				    ['#/tentacle/' + neu.tentacle,
				    neu.hostname]]));
				focusFirst(head);
				replace(body,
				    warn.length ? notice({text: warn.join(' '),
					kind: 'warning'}) : null,
				    el('div', {class: 'grid grid-2'},
					side(old, sa, 'Before'),
					side(neu, sb, 'After')),
				    checkChangesCard(old, neu),
				    el('section', {class: 'card',
					'aria-labelledby': 'diff-title'},
					el('div', {class: 'card-head'},
					    el('h2', {id: 'diff-title'},
						'What changed'),
					    el('p', {class: 'diff-stats',
						id: 'diff-stats'},
						added === 0 && removed === 0 ?
						'No change: the outputs are ' +
						'identical.' :
						el('span', null,
						    el('span', {class:
							'diff-add-text'}, '+' +
							plural(added, 'line')),
						    ' ',
						    el('span', {class:
							'diff-del-text'}, '−' +
							plural(removed,
							'line'))))),
					el('label', {class: 'checkbox',
					    for: 'diff-only'}, only,
					    'Only the changes and 3 lines ' +
					    'around them'),
					pre));
				renderDiff(pre);
			});
		}
		const head = el('div');
		replace(head, pageHead('Compare results',
		    [['#/runs', 'Runs']]));
		return {title: 'Compare', node: el('div', {class: 'stack'},
		    head, status, body), start: load};
	}

	/* ----------------------------------------------------- tokens */

	/*
	 * The address tentacles enrol with: the brain's listen_address
	 * (GET /api/session). When the brain listens on every address it
	 * cannot tell which one a host reaches; the host this page was
	 * loaded from is the best guess then, and the page says so.
	 */
	function brainHost() {
		if (state.brainAddress)
			return {host: state.brainAddress, guessed: false};
		return {host: location.hostname.replace(/^\[(.*)\]$/, '$1'),
		    guessed: true};
	}

	/* What the token card says about the -b address and the port. */
	function brainHostNotes(bh, token) {
		const notes = [];
		if (bh.guessed)
			notes.push(el('p', {class: 'notice notice-warning',
			    id: 'token-address-note'},
			    'The brain listens on every address, so it cannot ' +
			    'tell which one the host reaches: ' + bh.host +
			    ' is the address this page was opened with. ' +
			    'Replace it with the brain\'s address as the host ' +
			    'sees it if it differs.'));
		else
			notes.push(el('p', {class: 'muted small',
			    id: 'token-address-note'},
			    bh.host + ' is the address the brain accepts ' +
			    'enrolments on.'));
		if (state.registererPort !== null &&
		    state.registererPort !== 6000)
			notes.push(el('p', {class: 'notice notice-warning',
			    id: 'token-port-note'},
			    'This brain takes enrolments on port ' +
			    state.registererPort + ', not 6000: set ' +
			    'brain_registerer_port = ' + state.registererPort +
			    ' in the host\'s octoTentacle configuration first.'));
		notes.push(el('p', {class: 'muted small'},
		    'To keep the token out of the process list: ',
		    el('code', null, 'echo ' + token + ' | octoTentacle -b ' +
		    bh.host + ' -t -')));
		return notes;
	}

	function tokensView() {
		const status = notice(null);
		const created = el('div', {id: 'new-token'});
		const expires = select([['3600', '1 hour'],
		    ['86400', '1 day'], ['604800', '7 days'],
		    ['2592000', '30 days']], '86400', {id: 'token-expires'});
		const uses = el('input', {type: 'number', id: 'token-uses',
		    min: 1, max: 100000, value: 1, required: true});
		const makeBtn = el('button', {type: 'submit', id:
		    'token-create', class: 'button button-primary'},
		    'Create token');
		const table = dataTable({columns: [
		    {label: 'ID', class: 'num', sort: t => t.id,
			cell: t => String(t.id)},
		    {label: 'Created', sort: t => t.created_at,
			cell: t => timeEl(t.created_at, false)},
		    {label: 'By', hideSmall: true, sort: t => t.created_by,
			cell: t => t.created_by},
		    {label: 'Expires', sort: t => t.expires_at,
			cell: t => timeEl(t.expires_at, true)},
		    {label: 'Uses left', class: 'num', sort: t => t.uses_left,
			cell: t => String(t.uses_left)},
		    {label: 'State', cell: t => t.expired ?
			badge('expired', 'neutral') : t.uses_left > 0 ?
			badge('valid', 'ok') : badge('used up', 'neutral')},
		    {label: 'Revoke', class: 'actions-cell', cell: t =>
			confirmButton('Revoke', 'Revoke token ' + t.id + '?',
			    'Yes, revoke', async () => {
				await api('DELETE', '/api/tokens/' + t.id);
				setNotice(status, 'Token ' + t.id +
				    ' revoked.', 'success');
				await refresh(false);
			    }, status)},
		], key: t => t.id, sortCol: 0, sortDir: -1,
		    caption: 'Enrolment tokens',
		    empty: 'No token. Create one to enrol hosts.'});
		table.table.id = 'tokens-table';

		async function refresh(background) {
			await guarded(status, async function () {
				const r = await api('GET', '/api/tokens',
				    undefined, {background: background});
				table.update(r.tokens || []);
			}, 'Tokens unavailable');
		}

		async function submit(ev) {
			ev.preventDefault();
			makeBtn.disabled = true;
			try {
				const t = await api('POST', '/api/tokens',
				    {expires_in: Number(expires.value),
				    uses: Number(uses.value)});
				const bh = brainHost();
				const cmd = 'octoTentacle -b ' + bh.host +
				    ' -t ' + t.token;
				const cmdPre = el('pre', {class: 'command',
				    id: 'token-command', tabindex: '0'}, cmd);
				replace(created, el('section', {class:
				    'card card-success', 'aria-labelledby':
				    'new-token-title'},
				    el('div', {class: 'card-head'},
					el('h2', {id: 'new-token-title'},
					    'Token ' + t.id + ' created')),
				    el('p', null, 'Run this on the host as ' +
					'root. The token is shown only now; ' +
					'it is valid ' + plural(t.uses_left,
					'time') + ' until ' +
					fmtTime(t.expires_at) + '.'),
				    el('div', {class: 'command-row'}, cmdPre,
					copyButton(() => cmd, 'Copy command')),
				    brainHostNotes(bh, 'TOKEN'),
				    el('div', {class: 'command-row'},
					el('code', {class: 'token',
					    id: 'token-value'}, t.token),
					copyButton(() => t.token,
					    'Copy token'))));
				created.querySelector('h2').setAttribute(
				    'tabindex', '-1');
				created.querySelector('h2').focus();
				await refresh(false);
			} catch (e) {
				if (e.status !== 401)
					setNotice(status, errorText(e));
			} finally {
				makeBtn.disabled = false;
			}
		}

		const node = el('div', {class: 'stack'},
		    pageHead('Enrolment tokens', [['#/fleet', 'Fleet']]),
		    status,
		    card('New token', el('p', {class: 'muted small'},
			'A host that enrols with a valid token is accepted ' +
			'at once; without one it waits for approval. The ' +
			'token also carries this brain\'s certificate ' +
			'fingerprint, so the host checks it talks to the ' +
			'right brain.'),
			el('form', {class: 'inline-form',
			    on: {submit: submit}},
			    field('Valid for', expires),
			    field('Uses', uses),
			    el('div', {class: 'field field-button'},
				makeBtn))),
		    created,
		    card('Tokens', table.node));
		return {title: 'Tokens', node: node, start: function () {
			const tick = poll(REFRESH_MS * 2, refresh);
			tick(false);
		}};
	}

	/* ------------------------------------------------------ users */

	function passwordForm(name, own, onDone) {
		const cur = own ? el('input', {type: 'password',
		    autocomplete: 'current-password', required: true,
		    class: 'pw-current'}) : null;
		const pw = el('input', {type: 'password', required: true,
		    autocomplete: 'new-password', minlength: 10,
		    maxlength: 256, class: 'pw-new'});
		const pw2 = el('input', {type: 'password', required: true,
		    autocomplete: 'new-password', class: 'pw-again'});
		const out = notice(null);
		const save = el('button', {type: 'submit', class:
		    'button button-primary'}, 'Change password');
		async function submit(ev) {
			ev.preventDefault();
			if (pw.value !== pw2.value) {
				setNotice(out, 'The two new passwords differ.');
				pw2.focus();
				return;
			}
			if (pw.value.length < 10 || pw.value.length > 256) {
				setNotice(out, 'A password has 10 to 256 ' +
				    'characters.');
				pw.focus();
				return;
			}
			save.disabled = true;
			const body = {password: pw.value};
			if (own)
				body.current_password = cur.value;
			try {
				await api('POST', '/api/users/' +
				    encodeURIComponent(name) + '/password',
				    body);
				for (const i of [cur, pw, pw2])
					if (i)
						i.value = '';
				setNotice(out, 'Password changed' + (own ?
				    '; your other sessions ended.' :
				    ' for ' + name + '; their sessions ended.'),
				    'success');
				if (onDone)
					onDone();
			} catch (e) {
				if (e.status === 401)
					return;
				setNotice(out, e.status === 403 && own ?
				    'The current password is wrong.' :
				    errorText(e));
			} finally {
				save.disabled = false;
			}
		}
		return el('form', {class: 'pw-form', on: {submit: submit}},
		    out,
		    own ? field('Current password', cur) : null,
		    field('New password', pw, '10 to 256 characters.'),
		    field('New password again', pw2),
		    save);
	}

	function usersView() {
		const status = notice(null);
		const name = el('input', {type: 'text', id: 'user-new-name',
		    required: true, maxlength: 32, autocomplete: 'off',
		    autocapitalize: 'none', spellcheck: 'false',
		    pattern: "[A-Za-z0-9._\\-]{1,32}"});
		const pw = el('input', {type: 'password', id:
		    'user-new-password', required: true, minlength: 10,
		    maxlength: 256, autocomplete: 'new-password'});
		const role = select(ROLES.map(r => [r, r + ' — ' +
		    ROLE_HELP[r]]), 'operator', {id: 'user-new-role'});
		const addBtn = el('button', {type: 'submit', id: 'user-add',
		    class: 'button button-primary'}, 'Add user');
		const addOut = notice(null);
		addOut.id = 'user-add-status';
		const pwSlot = el('div', {id: 'user-password-slot'});

		const table = dataTable({columns: [
		    {label: 'User', head: true, sort: u => u.name,
			cell: u => el('span', null, u.name,
			    state.user && u.name === state.user.name ?
			    el('span', {class: 'muted small'}, ' (you)') :
			    null)},
		    {label: 'Role', sort: u => ROLES.indexOf(u.role),
			cell: u => badge(u.role, u.role === 'admin' ? 'info' :
			    'neutral')},
		    {label: 'TOTP', sort: u => u.totp ? 1 : 0,
			cell: u => u.totp ? badge('on', 'ok') :
			    el('span', {class: 'muted'}, 'off')},
		    {label: 'Created', hideSmall: true,
			sort: u => u.created_at,
			cell: u => timeEl(u.created_at, false)},
		    {label: 'Actions', class: 'actions-cell', cell: u =>
			el('span', {class: 'row-actions'},
			    button('Set password', {class: 'button-small ' +
				'set-password', dataset: {user: u.name}},
				() => openPassword(u.name)),
			    !u.totp || (state.user &&
			    u.name === state.user.name) ? null :
			    confirmButton('Remove TOTP', 'Remove the TOTP of ' +
				u.name + '? They log in with their password ' +
				'alone until they set up a new one.',
				'Yes, remove', async () => {
				    await api('DELETE', '/api/users/' +
					encodeURIComponent(u.name) + '/totp');
				    setNotice(status, 'TOTP of ' + u.name +
					' removed.', 'success');
				    await refresh();
				}, status, {class: 'button-danger-outline ' +
				'button-small remove-totp',
				dataset: {user: u.name}}),
			    state.user && u.name === state.user.name ? null :
			    confirmButton('Remove', 'Remove ' + u.name + '?',
				'Yes, remove', async () => {
				    await api('DELETE', '/api/users/' +
					encodeURIComponent(u.name));
				    setNotice(status, 'User ' + u.name +
					' removed.', 'success');
				    await refresh();
				}, status, {class: 'button-danger-outline ' +
				'button-small remove-user',
				dataset: {user: u.name}}))},
		], key: u => u.name, sortCol: 0, caption: 'Users',
		    empty: 'No user.'});
		table.table.id = 'users-table';

		function openPassword(user) {
			if (state.user && user === state.user.name) {
				go('#/account');
				return;
			}
			replace(pwSlot, el('section', {class: 'card',
			    'aria-labelledby': 'pw-title'},
			    el('div', {class: 'card-head'},
				el('h2', {id: 'pw-title', tabindex: '-1'},
				    'New password for ' + user),
				button('Close', {class: 'button-small'},
				    () => clear(pwSlot))),
			    passwordForm(user, false)));
			pwSlot.querySelector('input').focus();
		}

		async function refresh() {
			await guarded(status, async function () {
				const r = await api('GET', '/api/users');
				table.update(r.users || []);
			}, 'Users unavailable');
		}

		async function submit(ev) {
			ev.preventDefault();
			addBtn.disabled = true;
			setNotice(addOut, '');
			try {
				const r = await api('POST', '/api/users',
				    {name: name.value, password: pw.value,
				    role: role.value});
				setNotice(addOut, 'User ' + (r && r.name ||
				    name.value) + ' added as ' + (r && r.role ||
				    role.value) + '.', 'success');
				name.value = '';
				pw.value = '';
				await refresh();
			} catch (e) {
				if (e.status === 401)
					return;
				setNotice(addOut, e.status === 409 ?
				    'A user named ' + name.value +
				    ' already exists.' : errorText(e));
			} finally {
				addBtn.disabled = false;
			}
		}

		const node = el('div', {class: 'stack'},
		    pageHead('Users'),
		    status,
		    card('Add a user', el('form', {class: 'inline-form',
			id: 'user-form', on: {submit: submit}},
			field('User name', name,
			    'Letters, digits, . _ - (up to 32).'),
			field('Password', pw, '10 to 256 characters.'),
			field('Role', role),
			el('div', {class: 'field field-button'}, addBtn)),
			addOut),
		    pwSlot,
		    card('Users', table.node));
		return {title: 'Users', node: node, start: refresh};
	}

	/*
	 * Two-factor authentication: set up (the secret and its otpauth://
	 * URI are shown once, then a code confirms it) or remove one's own
	 * TOTP. The brain keeps the secret; the page forgets it.
	 */
	function totpCard() {
		const u = state.user;
		const out = notice(null);
		out.id = 'totp-status';
		const body = el('div', {id: 'totp-body'});
		const path = '/api/users/' + encodeURIComponent(u.name) +
		    '/totp';

		function stateBadge(on) {
			const b = badge(on ? 'on' : 'off', on ? 'ok' :
			    'neutral');
			b.id = 'totp-state';
			return b;
		}

		function showState() {
			if (u.totp) {
				replace(body, el('p', null, stateBadge(true),
				    ' Logging in takes a code of your ' +
				    'authenticator app.'),
				    confirmButton('Remove TOTP',
				    'Remove your TOTP?', 'Yes, remove',
				    async () => {
					await api('DELETE', path);
					u.totp = false;
					state.totpSetupRequired = false;
					await loadSession();
					setNotice(out, 'TOTP removed.',
					    'success');
					if (state.totpSetupRequired)
						route();
					else
						showState();
				    }, out, {id: 'totp-remove'}));
				return;
			}
			replace(body, el('p', null, stateBadge(false),
			    ' Add a code from an authenticator app ' +
			    '(RFC 6238 TOTP) to your password.'),
			    button('Set up TOTP', {id: 'totp-start',
				class: 'button-primary'}, start));
		}

		async function start() {
			let r;
			try {
				r = await api('POST', path, {});
			} catch (e) {
				if (e.status !== 401)
					setNotice(out, errorText(e));
				return;
			}
			const code = el('input', {id: 'totp-code', type: 'text',
			    inputmode: 'numeric', pattern: '[0-9]{6}',
			    maxlength: 6, required: true, autocomplete: 'off',
			    spellcheck: 'false'});
			const ok = el('button', {type: 'submit', id:
			    'totp-confirm', class: 'button button-primary'},
			    'Confirm');
			async function confirm(ev) {
				ev.preventDefault();
				ok.disabled = true;
				try {
					await api('POST', path + '/confirm',
					    {code: code.value});
					u.totp = true;
					state.totpSetupRequired = false;
					setNotice(out, 'TOTP is on: logging ' +
					    'in now takes a code.', 'success');
					showState();
				} catch (e) {
					if (e.status === 401)
						return;
					code.value = '';
					code.focus();
					setNotice(out, errorText(e));
				} finally {
					ok.disabled = false;
				}
			}
			setNotice(out, 'Add this secret to your authenticator ' +
			    'app, then enter the code it shows. It is shown ' +
			    'only now.', 'info');
			replace(body, defList([
			    ['Secret', el('code', {id: 'totp-secret',
				class: 'mono secret'}, r.secret)],
			    ['URI', el('code', {id: 'totp-uri',
				class: 'mono secret'}, r.otpauth_uri)]]),
			    el('form', {class: 'inline-form', id: 'totp-form',
				on: {submit: confirm}},
				field('Code', code, '6 digits.'),
				el('div', {class: 'field field-button'}, ok)));
			code.focus();
		}

		showState();
		return card('Two-factor authentication (TOTP)', out, body);
	}

	function accountView() {
		const u = state.user;
		return {title: 'Your account', node: el('div',
		    {class: 'stack'},
		    pageHead('Your account'),
		    el('div', {class: 'grid grid-2'},
			card('You', defList([['User name', u.name],
			    ['Role', u.role + ': ' + (ROLE_HELP[u.role] ||
			    '')],
			    ['Idle logout', state.sessionTimeout ?
				fmtUptime(state.sessionTimeout) + ' without ' +
				'activity' : '—']])),
			totpCard(),
			state.totpSetupRequired ? null :
			card('Change your password',
			    passwordForm(u.name, true))))};
	}

	/* ------------------------------------------------------ audit */

	function auditView() {
		const status = notice(null);
		const updated = updatedLine();
		const actor = el('input', {type: 'search', id: 'audit-actor',
		    autocomplete: 'off', spellcheck: 'false',
		    placeholder: 'any'});
		const action = select([['', 'Any action']].concat(
		    AUDIT_ACTIONS.map(a => [a, a.replace(/_/g, ' ')])), '',
		    {id: 'audit-action'});
		const limit = select([['50', '50'], ['200', '200'],
		    ['1000', '1000']], '200', {id: 'audit-limit'});
		const refreshBtn = el('button', {type: 'submit', class:
		    'button button-primary', id: 'audit-refresh'}, 'Show');
		const seen = new Set(AUDIT_ACTIONS);
		const kindOf = a => /refused|failed|killed/.test(a) ? 'err' :
		    /revoke|reject|delete/.test(a) ? 'warn' :
		    /login|logout/.test(a) ? 'neutral' : 'info';
		const table = dataTable({columns: [
		    {label: 'When', dir: -1, sort: e => e.id,
			cell: e => timeEl(e.at, false)},
		    {label: 'Who', sort: e => e.actor,
			cell: e => e.actor || '—'},
		    {label: 'Action', sort: e => e.action,
			cell: e => badge(e.action, kindOf(e.action),
			    'action')},
		    {label: 'From', class: 'mono', sort: e => e.peer,
			cell: e => e.peer || '—'},
		    {label: 'Detail', class: 'wrap',
			cell: e => (e.count > 1 ? e.count +
			    ' times in this minute; the last: ' : '') +
			    (e.detail || '')},
		], key: e => e.id, sortCol: 0, caption: 'Audit events',
		    empty: 'No event matches.', tableClass: 'audit'});
		table.table.id = 'audit-table';

		async function refresh(background) {
			await guarded(status, async function () {
				const q = new URLSearchParams();
				if (actor.value.trim())
					q.set('actor', actor.value.trim());
				if (action.value)
					q.set('action', action.value);
				q.set('limit', limit.value);
				const r = await api('GET', '/api/audit?' +
				    q.toString(), undefined,
				    {background: background});
				const events = r.events || [];
				for (const e of events) {
					if (typeof e.action !== 'string' ||
					    seen.has(e.action))
						continue;
					seen.add(e.action);
					action.appendChild(el('option',
					    {value: e.action},
					    e.action.replace(/_/g, ' ')));
				}
				table.update(events);
				touch(updated);
			}, 'Audit log unavailable');
		}

		let tick = null;
		const form = el('form', {class: 'toolbar', on: {submit:
		    ev => {
			ev.preventDefault();
			tick(false);
		    }}},
		    field('Who', actor), field('Action', action),
		    field('Show', limit),
		    el('div', {class: 'field field-button'}, refreshBtn));
		action.addEventListener('change', () => tick(false));
		limit.addEventListener('change', () => tick(false));

		const node = el('div', {class: 'stack'},
		    pageHead('Audit log'),
		    status,
		    cardWithHead('Events', updated,
			el('p', {class: 'muted small'}, 'Every admin ' +
			    'action, login, and refused enrolment or ' +
			    'handshake, newest first.'),
			form, table.node));
		return {title: 'Audit log', node: node, start: function () {
			tick = poll(REFRESH_MS * 2, refresh);
			tick(false);
		}};
	}

	/* ------------------------------------------------------ brain */

	function brainView() {
		const exportCard = exportCardView();
		const rows = el('tbody');
		const meta = el('div');
		const updated = updatedLine();
		const problem = notice(null);

		function fill(h) {
			clear(rows);
			const children = Array.isArray(h.children) ?
			    h.children : [];
			for (const c of children) {
				rows.appendChild(el('tr', null,
				    el('th', {scope: 'row'}, c.name),
				    el('td', null, badge(c.state || 'unknown',
					c.state === 'up' ? 'ok' :
					c.state === 'restarting' ? 'warn' :
					'neutral')),
				    el('td', {class: 'num'},
					c.pid === undefined ? '—' : c.pid),
				    el('td', {class: 'num'},
					c.restarts === undefined ? '—' :
					c.restarts)));
			}
			if (children.length === 0)
				rows.appendChild(el('tr', null,
				    el('td', {colspan: 4, class: 'muted'},
					'No process reported.')));
			const n = v => v === undefined ? '—' : String(v);
			replace(meta, defList([
			    ['Version', h.version || '—'],
			    ['Uptime', fmtUptime(h.uptime)],
			    ['Tentacles enrol at', (state.brainAddress ||
				'every address') + (state.registererPort ?
				', port ' + state.registererPort : ''),
				'mono'],
			    ['Refused handshakes', n(h.refused_handshakes)],
			    ['Protocol errors', n(h.protocol_errors)],
			    ['Ledger', ledgerCheckText(h.ledger),
				ledgerCheckClass(h.ledger)]]));
			touch(updated);
		}

		async function refresh(background) {
			await guarded(problem, async function () {
				fill(await api('GET', '/api/health', undefined,
				    {background: background}));
			}, 'Health unavailable');
		}

		const node = el('div', {class: 'stack'},
		    pageHead('Brain'),
		    el('section', {class: 'card', id: 'health',
			'aria-labelledby': 'health-title'},
			el('div', {class: 'card-head'},
			    el('h2', {id: 'health-title'}, 'Brain health'),
			    updated),
			problem,
			el('div', {class: 'table-wrap'},
			    el('table', {class: 'table'},
				el('caption', {class: 'visually-hidden'},
				    'Processes of the brain'),
				el('thead', null, el('tr', null,
				    el('th', {scope: 'col'}, 'Process'),
				    el('th', {scope: 'col'}, 'State'),
				    el('th', {scope: 'col', class: 'num'},
					'PID'),
				    el('th', {scope: 'col', class: 'num'},
					'Restarts'))),
				rows)),
			meta),
		    exportCard.node);
		return {title: 'Brain', node: node, start: function () {
			const tick = poll(REFRESH_MS, refresh);
			tick(false);
			exportCard.start();
		}};
	}

	/* ------------------------------------------------ ledger check */

	/* The maestro's last check of the ledger (GET /api/health's
	 * "ledger", issue 17): when, how many entries, intact or the first
	 * entry that is not. */
	function ledgerCheckText(lg) {
		if (!lg || typeof lg !== 'object')
			return '—';
		if (!lg.checked_at)
			return lg.checking ? 'being verified…' :
			    'not verified yet (soon after the start, then ' +
			    'daily)';
		const when = 'last verified ' + fmtTime(lg.checked_at) +
		    ' (' + fmtAgo(lg.checked_at) + ')';
		if (lg.outcome === 'broken')
			return 'BROKEN: ' + (lg.broken || 'an entry') + '; ' +
			    when;
		if (lg.outcome !== 'intact')
			return 'cannot be read (database error); ' + when;
		const pruned = [lg.pruned ? lg.pruned + ' results' : '',
		    lg.audit_pruned ? lg.audit_pruned + ' audit rows' : '']
		    .filter(x => x).join(', ');
		return when + ', ' + lg.entries + ' entries, intact' +
		    (pruned ? ' (' + pruned + ' pruned by retention)' : '') +
		    (lg.start_pruned ? '; ' + lg.start_pruned + ' entries ' +
		    'pruned from the start, start hash ' + lg.start_hash : '');
	}

	function ledgerCheckClass(lg) {
		return 'wrap-any ' + (lg && lg.checked_at &&
		    lg.outcome !== 'intact' ? 'ledger-broken' : 'ledger-check');
	}

	/* ----------------------------------------------------- export */

	/* The Brain page's export card (issue 17; admins): each target's
	 * state, queue, drops and last error, and a test event. */
	function exportCardView() {
		const rows = el('tbody');
		const updated = updatedLine();
		const problem = notice(null);
		const sent = notice(null);
		const none = el('p', {class: 'muted', hidden: true},
		    'No export target is configured (syslog_target, ' +
		    'webhook_url in brain.conf).');
		const testBtn = button('Send a test event', {id: 'export-test'},
		    async function () {
			testBtn.disabled = true;
			try {
				const r = await api('POST', '/api/export/test',
				    {});
				setNotice(sent, 'Test event ' + r.seq +
				    ' queued.', 'success');
				await refresh(false);
			} catch (e) {
				if (e.status !== 401)
					setNotice(sent, errorText(e));
			} finally {
				testBtn.disabled = false;
			}
		});
		const table = el('div', {class: 'table-wrap'},
		    el('table', {class: 'table', id: 'export-targets'},
			el('caption', {class: 'visually-hidden'},
			    'Export targets'),
			el('thead', null, el('tr', null,
			    el('th', {scope: 'col'}, 'Target'),
			    el('th', {scope: 'col'}, 'Collector'),
			    el('th', {scope: 'col'}, 'State'),
			    el('th', {scope: 'col', class: 'num'}, 'Queued'),
			    el('th', {scope: 'col', class: 'num'}, 'Dropped'),
			    el('th', {scope: 'col'}, 'Last error'))),
			rows));

		function fill(x) {
			clear(rows);
			const targets = Array.isArray(x.targets) ?
			    x.targets : [];
			for (const t of targets)
				rows.appendChild(el('tr', null,
				    el('th', {scope: 'row'}, t.name),
				    el('td', {class: 'mono'}, t.target || ''),
				    el('td', null, badge(t.state || 'unknown',
					t.state === 'connected' ? 'ok' :
					t.state === 'down' ? 'err' : 'warn')),
				    el('td', {class: 'num'}, String(t.queue)),
				    el('td', {class: 'num'}, String(t.drops)),
				    el('td', null, t.last_error || '—')));
			none.hidden = targets.length > 0;
			table.hidden = targets.length === 0;
			testBtn.hidden = targets.length === 0;
			touch(updated);
		}

		async function refresh(background) {
			await guarded(problem, async function () {
				fill(await api('GET', '/api/export', undefined,
				    {background: background}));
			}, 'Export unavailable');
		}

		const node = isAdmin() ? cardWithHead('Export', updated,
		    el('p', {class: 'muted small'}, 'Events (offline hosts, ' +
			'new findings, refused handshakes, the audit log) ' +
			'sent to syslog over TLS and to a webhook, kept ' +
			'while a collector is down.'),
		    problem, none, table,
		    el('div', {class: 'actions'}, testBtn), sent) :
		    el('div', {hidden: true});
		return {node: node, start: function () {
			if (!isAdmin())
				return;
			const tick = poll(REFRESH_MS, refresh);
			tick(false);
		}};
	}

	/* --------------------------------------------------- scripts */

	/*
	 * Scripts (issue 14): the brain's managed scripts (versions signed
	 * by the brain and pushed to the tentacles that take them) and the
	 * local ones the tentacles report. #/scripts lists them,
	 * #/scripts/new writes one, #/scripts/NAME shows one: its body with
	 * line numbers, which host holds which version, its versions with a
	 * line diff between two, and for admins the editor (save as a new
	 * version, restore an old one as a new version, delete).
	 */

	function shortHash(h) {
		return typeof h === 'string' && h.length > 12 ?
		    h.slice(0, 12) + '…' : (h || '—');
	}

	function hashEl(h) {
		return el('span', {class: 'mono small', title: h || null},
		    shortHash(h));
	}

	/* A body shown as text, one numbered line each. */
	function codeView(text, id) {
		const lines = splitLines(text);
		return el('ol', {class: 'code-lines', id: id || null},
		    (lines.length ? lines : ['']).map(l =>
			el('li', {class: 'code-line'}, l)));
	}

	/* The editor: a monospace textarea with its line numbers beside it;
	 * Tab inserts a tab. {node, textarea}. */
	function codeEditor(text, id) {
		const ta = el('textarea', {id: id, class: 'code-input',
		    spellcheck: 'false', autocapitalize: 'none',
		    autocomplete: 'off', wrap: 'off', rows: 18});
		ta.value = text || '';
		const gutter = el('pre', {class: 'code-gutter',
		    'aria-hidden': 'true'});
		function numbers() {
			const n = Math.max(1, ta.value.split('\n').length);
			let s = '';
			for (let i = 1; i <= n; i++)
				s += i + '\n';
			setText(gutter, s);
			gutter.scrollTop = ta.scrollTop;
		}
		ta.addEventListener('input', numbers);
		ta.addEventListener('scroll', function () {
			gutter.scrollTop = ta.scrollTop;
		});
		ta.addEventListener('keydown', function (ev) {
			if (ev.key !== 'Tab' || ev.shiftKey || ev.ctrlKey ||
			    ev.altKey || ev.metaKey)
				return;
			ev.preventDefault();
			const s = ta.selectionStart, e = ta.selectionEnd;
			ta.value = ta.value.slice(0, s) + '\t' +
			    ta.value.slice(e);
			ta.selectionStart = ta.selectionEnd = s + 1;
			numbers();
		});
		numbers();
		return {node: el('div', {class: 'code-editor'}, gutter, ta),
		    textarea: ta, refresh: numbers};
	}

	function scriptsView() {
		const status = notice(null);
		const updated = updatedLine();
		const total = el('p', {class: 'muted small', id:
		    'scripts-total'});
		const table = dataTable({
			caption: 'Scripts',
			key: s => (s.managed ? 'm:' : 'l:') + s.name + ':' +
			    s.sha256,
			sortCol: 0,
			empty: 'No script yet.',
			columns: [
				{label: 'Name', head: true, sort: s => s.name,
				    cell: s => s.managed ? link('#/scripts/' +
					s.name, s.name, {class: 'script-link'}) :
					el('span', null, s.name)},
				{label: 'Kind', cell: s => s.managed ?
				    badge('managed', 'info') :
				    badge('local', 'neutral'),
				    sort: s => s.managed ? 0 : 1},
				{label: 'Version', class: 'num', cell: s =>
				    s.managed ? 'v' + s.version : '—',
				    sort: s => s.version},
				{label: 'SHA-256', cell: s => hashEl(s.sha256),
				    hideSmall: true},
				{label: 'Hosts', cell: s => scriptHosts(s),
				    sort: s => s.tentacles.length},
				{label: 'Description', cell: s =>
				    s.description || '—', hideSmall: true},
			],
		});

		/* how many hold it (the brain says which, not their names:
		 * the script's page has them) */
		function scriptHosts(s) {
			const latest = s.tentacles.length;
			if (!s.managed)
				return plural(latest, 'host');
			const older = (s.stale || []).length;
			return el('span', null, plural(latest, 'host') +
			    ' at v' + s.version, older ? el('span',
			    {class: 'muted'}, ' · ' + older + ' other') : null);
		}

		async function refresh(background) {
			await guarded(status, async function () {
				const opts = {background: background};
				/* the fleet's counts: one row asked, not
				 * the fleet */
				const [sr, tr] = await Promise.all([
				    api('GET', '/api/scripts', undefined, opts),
				    api('GET', '/api/tentacles?limit=1',
				    undefined, opts)]);
				setText(total, 'Of ' + plural(acceptedCount(
				    tr.counts), 'accepted host') + '.');
				table.update(sr.scripts || []);
				touch(updated);
			}, 'Scripts unavailable');
		}

		const actions = isAdmin() ? [link('#/scripts/new',
		    'New script', {class: 'button button-primary',
		    id: 'script-new'})] : null;
		return {title: 'Scripts', node: el('div', {class: 'stack'},
		    pageHead('Scripts', null, actions), status,
		    card('Scripts', el('p', {class: 'muted small'},
			'Managed scripts are kept, signed and pushed by the ' +
			'brain to every host that takes them ' +
			'(managed_scripts = yes); local ones are those the ' +
			'hosts have in their own scripts directory.'),
			total, table.node, updated)),
		    start: function () {
			const tick = poll(REFRESH_MS, refresh);
			tick(false);
		}};
	}

	function scriptNewView() {
		const status = notice(null);
		const name = el('input', {id: 'script-name', type: 'text',
		    required: true, maxlength: 63, autocomplete: 'off',
		    spellcheck: 'false', dataset: {focus: ''}});
		const desc = el('input', {id: 'script-desc', type: 'text',
		    maxlength: 200, autocomplete: 'off'});
		const editor = codeEditor('#!/bin/sh\n# description: \n' +
		    'echo "OK example.check it works"\n', 'script-body');
		async function submit(ev) {
			ev.preventDefault();
			setNotice(status, '');
			try {
				const r = await api('POST', '/api/scripts', {
				    name: name.value, description: desc.value,
				    body: editor.textarea.value});
				flash('Script ' + r.name + ' created (version ' +
				    r.version + '): the hosts that take managed ' +
				    'scripts get it within a keepalive.', 'success');
				go('#/scripts/' + r.name);
			} catch (e) {
				setNotice(status, errorText(e));
			}
		}
		return {title: 'New script', node: el('div', {class: 'stack'},
		    pageHead('New script', [['#/scripts', 'Scripts']]),
		    status,
		    el('form', {class: 'card stack', id: 'script-form',
			on: {submit: submit}},
			field('Name', name, 'Letters, digits, . _ - ' +
			    '(no path); the hosts run it by this name.'),
			field('Description', desc),
			el('div', {class: 'field'},
			    el('label', {for: 'script-body'}, 'Body'),
			    editor.node,
			    el('p', {class: 'hint'}, 'Starts with #! (its ' +
				'interpreter); at most 256 KiB.')),
			el('div', {class: 'actions'},
			    el('button', {type: 'submit', id: 'script-create',
				class: 'button button-primary'}, 'Create'))))};
	}

	function scriptView([nameParam]) {
		const name = String(nameParam);
		if (name === 'new')
			return scriptNewView();
		const status = notice(null);
		const body = el('div', {class: 'stack'});
		let script = null;

		/*
		 * The accepted hosts and what each holds: the first
		 * HOLDERS_PAGE by name, or those found by name or address
		 * (the brain does not say which hosts lack a script, nor
		 * which take managed scripts: only the page's rows are
		 * judged). The counts are the script's own.
		 */
		const HOLDERS_PAGE = 100;
		let holders = [], holdersMore = false, holdersSeq = 0;
		const holdersFind = el('input', {type: 'search', id:
		    'holders-find', placeholder: 'Find a host',
		    autocomplete: 'off', spellcheck: 'false', maxlength: 64,
		    'aria-label': 'Find a host by name or address'});
		const holdersNote = el('p', {class: 'muted small',
		    id: 'holders-note'});
		const holdersTable = dataTable({
			caption: 'Hosts and the version they hold',
			key: r => r.t.id,
			sortCol: 0,
			empty: 'No accepted host matches.',
			tableClass: 'script-holders',
			columns: [
				{label: 'Host', head: true, sort: r =>
				    r.t.hostname, cell: r => link(
				    '#/tentacle/' + r.t.id, r.t.hostname)},
				{label: 'Holds', cell: r => r.what},
				{label: 'SHA-256', cell: r => r.h ?
				    hashEl(r.h.sha256) : '—',
				    hideSmall: true},
			],
		});

		async function findHolders(background) {
			const mine = ++holdersSeq;
			const r = await findTentacles(holdersFind.value.trim(),
			    HOLDERS_PAGE, 'accepted', {background: background});
			if (mine !== holdersSeq)
				return;
			holders = learnHosts(r.tentacles);
			holdersMore = r.next !== null && r.next !== undefined;
			if (script)
				fillHolders();
		}
		holdersFind.addEventListener('input', debounced(200, () =>
		    guarded(status, () => findHolders(false),
		    'Hosts unavailable')));

		function heldBy() {
			/* the latest's copies by ID, the others in stale */
			const held = new Map((script.stale || []).map(h =>
			    [h.tentacle, h]));
			for (const id of script.tentacles || [])
				held.set(id, {tentacle: id, version:
				    script.version, sha256: script.sha256,
				    tampered: false});
			return held;
		}

		function fillHolders() {
			const held = heldBy();
			const rows = [];
			for (const t of holders) {
				const h = held.get(t.id);
				const takes = t.facts ? t.facts.managed_scripts :
				    undefined;
				let what;
				if (h && h.tampered)
					what = badge('v' + h.version + ' changed ' +
					    'on the host', 'err', 'tampered');
				else if (h && h.version === script.version)
					what = badge('v' + h.version + ' (latest)',
					    'ok');
				else if (h)
					what = badge('v' + h.version + ' (older)',
					    'warn');
				else if (takes === false)
					what = badge('takes no managed scripts',
					    'neutral');
				else if (takes === true)
					what = badge('not yet', 'info');
				else
					what = badge('cannot take managed scripts',
					    'neutral');
				rows.push({t: t, h: h, what: what});
			}
			holdersTable.update(rows);
			setText(holdersNote, holdersMore ? 'The first ' +
			    holders.length + ' accepted hosts by name' +
			    (holdersFind.value.trim() ? ' of those that match' :
			    '') + ': find others by name or address.' : '');
		}

		function holdersCard() {
			const held = heldBy();
			const stale = (script.stale || []).filter(h =>
			    !h.tampered).length;
			/* A changed copy is evidence: the brain leaves it;
			 * an admin pushes the latest again (a new version). */
			const changed = Array.from(held.values()).filter(h =>
			    h.tampered).map(h => h.tentacle);
			const shown = changed.slice(0, 20);
			fillHolders();
			return card('Hosts', el('p', {class: 'summary',
			    id: 'holders-counts'},
			    badge(script.tentacles.length + ' at v' +
				script.version, 'ok'),
			    stale ? badge(stale + ' older', 'warn') : null,
			    changed.length ? badge(changed.length + ' changed',
				'err') : null),
			    changed.length ? el('p', {class:
			    'notice notice-error', id: 'script-tampered'},
			    plural(changed.length, 'host') + ' ' +
			    (changed.length === 1 ? 'has' : 'have') + ' a copy ' +
			    'that is not the one signed: ' + shown.map(id =>
			    hostName(id)).join(', ') + (changed.length >
			    shown.length ? ' and ' + (changed.length -
			    shown.length) + ' more' : '') + '. Runs there ' +
			    'are refused. ', isAdmin() ? button('Push the ' +
			    'latest again', {id: 'script-repush', class:
			    'button-small'}, repush) : null) : null,
			    el('div', {class: 'toolbar'},
				field('Find a host', holdersFind)),
			    holdersNote, holdersTable.node);
		}

		async function repush() {
			try {
				const r = await api('PUT', '/api/scripts/' + name,
				    {body: script.body,
				    description: script.description});
				setNotice(status, 'Pushed again as version ' +
				    r.version + '.', 'success');
				await load();
			} catch (e) {
				setNotice(status, errorText(e));
			}
		}

		function versionsCard() {
			const pickA = el('select', {id: 'diff-a',
			    'aria-label': 'Older version'});
			const pickB = el('select', {id: 'diff-b',
			    'aria-label': 'Newer version'});
			const vs = script.versions.slice().reverse();
			for (const v of vs) {
				pickA.appendChild(el('option', {value: v.version},
				    'v' + v.version));
				pickB.appendChild(el('option', {value: v.version},
				    'v' + v.version));
			}
			if (vs.length > 1)
				pickA.value = String(vs[1].version);
			const out = el('pre', {class: 'output diff',
			    id: 'script-diff', hidden: true});
			const dstatus = notice(null);
			async function showDiff() {
				setNotice(dstatus, '');
				try {
					const [a, b] = await Promise.all([
					    versionBody(pickA.value),
					    versionBody(pickB.value)]);
					clear(out);
					for (const l of diffLines(splitLines(a),
					    splitLines(b)))
						out.appendChild(el('span', {class:
						    'diff-line ' + (l.op === '+' ?
						    'diff-add' : l.op === '-' ?
						    'diff-del' : 'diff-same')},
						    l.op + ' ' + l.text + '\n'));
					out.hidden = false;
				} catch (e) {
					setNotice(dstatus, errorText(e));
				}
			}
			const table = dataTable({
				caption: 'Versions',
				key: v => v.version,
				sortCol: 0,
				columns: [
					{label: 'Version', head: true, dir: -1,
					    sort: v => v.version,
					    cell: v => 'v' + v.version},
					{label: 'Saved', cell: v =>
					    timeEl(v.created_at, false)},
					{label: 'By', cell: v => v.created_by},
					{label: 'SHA-256', cell: v =>
					    hashEl(v.sha256), hideSmall: true},
					{label: '', cell: v => isAdmin() &&
					    v.version !== script.version ?
					    button('Restore', {class:
					    'button-small restore',
					    dataset: {version: v.version}},
					    () => restore(v.version, dstatus)) :
					    ''},
				],
			});
			table.update(script.versions);
			return card('Versions', table.node,
			    vs.length > 1 ? el('div', {class: 'diff-pick'},
				el('span', null, 'Differences from'), pickA,
				el('span', null, 'to'), pickB,
				button('Show the diff', {id: 'diff-show'},
				    showDiff)) : null, dstatus, out);
		}

		async function versionBody(v) {
			if (Number(v) === script.version)
				return script.body;
			const r = await api('GET', '/api/scripts/' + name +
			    '/versions/' + v);
			return r.body;
		}

		async function restore(v, where) {
			try {
				const old = await api('GET', '/api/scripts/' +
				    name + '/versions/' + v);
				const r = await api('PUT', '/api/scripts/' + name,
				    {body: old.body, description: old.description});
				setNotice(status, 'Version ' + v + ' restored as ' +
				    'version ' + r.version + '.', 'success');
				await load();
			} catch (e) {
				setNotice(where, errorText(e));
			}
		}

		function editCard() {
			const editor = codeEditor(script.body, 'script-body');
			const desc = el('input', {id: 'script-desc', type: 'text',
			    maxlength: 200, autocomplete: 'off'});
			desc.value = script.description || '';
			const estatus = notice(null);
			async function save(ev) {
				ev.preventDefault();
				setNotice(estatus, '');
				try {
					const r = await api('PUT', '/api/scripts/' +
					    name, {body: editor.textarea.value,
					    description: desc.value});
					setNotice(status, 'Saved as version ' +
					    r.version + '.', 'success');
					await load();
				} catch (e) {
					setNotice(estatus, errorText(e));
				}
			}
			return el('form', {class: 'card stack', id: 'script-form',
			    on: {submit: save}},
			    el('h2', null, 'Edit'), estatus,
			    field('Description', desc),
			    el('div', {class: 'field'},
				el('label', {for: 'script-body'}, 'Body'),
				editor.node),
			    el('div', {class: 'actions'},
				el('button', {type: 'submit', id: 'script-save',
				    class: 'button button-primary'},
				    'Save as a new version')));
		}

		function render() {
			const actions = [];
			if (canRun())
				actions.push(link('#/run?script=' + name,
				    'Run now', {class: 'button button-primary',
				    id: 'script-run'}));
			if (isAdmin())
				actions.push(confirmButton('Delete',
				    'Delete ' + name + ' from every host?',
				    'Delete', async function () {
					await api('DELETE', '/api/scripts/' + name);
					flash('Script ' + name + ' deleted: the ' +
					    'hosts delete it at their next ' +
					    'keepalive.', 'success');
					go('#/scripts');
				    }, status, {id: 'script-delete'}));
			replace(body,
			    pageHead(name, [['#/scripts', 'Scripts']], actions),
			    status,
			    card('Version ' + script.version, defList([
				['Description', script.description || '—'],
				['SHA-256', el('span', {class: 'mono small',
				    id: 'script-sha'}, script.sha256)],
				['Hosts at this version', String(
				    script.tentacles.length)]]),
				codeView(script.body, 'script-code')),
			    holdersCard(),
			    versionsCard(),
			    isAdmin() ? editCard() : null);
		}

		async function load() {
			await guarded(status, async function () {
				const [sr] = await Promise.all([
				    api('GET', '/api/scripts/' + name),
				    findHolders(false)]);
				script = sr;
				/* the names of the hosts with a changed
				 * copy, for the notice (a few) */
				await Promise.all((sr.stale || []).filter(h =>
				    h.tampered && !state.hosts.has(h.tentacle))
				    .slice(0, 20).map(h => tentacleById(
				    h.tentacle).catch(() => null)));
				render();
			}, 'Script unavailable');
		}

		replace(body, pageHead(name, [['#/scripts', 'Scripts']]),
		    status);
		return {title: name, node: body, start: load};
	}

	/* ------------------------- labels and schedules (issue 16) */

	/* A label is 1 to 32 of a-z 0-9 . _ - (the brain checks again). */
	const LABEL_RX = /^[a-z0-9._-]{1,32}$/;

	/* "web, db" -> ['web', 'db']; null if one is not a label. */
	function parseLabels(text) {
		const out = [];
		for (const part of text.split(',')) {
			const l = part.trim();
			if (l === '')
				continue;
			if (!LABEL_RX.test(l))
				return null;
			if (out.indexOf(l) === -1)
				out.push(l);
		}
		return out;
	}

	/* A tentacle's labels: accepted ones, then proposed ones (marked). */
	function labelChips(t) {
		const acc = t.labels || [], prop = t.proposed_labels || [];
		if (acc.length === 0 && prop.length === 0)
			return el('span', {class: 'muted'}, '—');
		return el('span', {class: 'label-chips'},
		    acc.map(l => el('span', {class: 'label-chip'}, l)),
		    prop.map(l => el('span', {class: 'label-chip ' +
			'label-proposed', title: 'Proposed by the host, ' +
			'not accepted yet'}, l + '?')));
	}

	/* The Fleet table's column. */
	function labelsColumn() {
		return {label: 'Labels', hideSmall: true,
		    sort: t => (t.labels || []).join(','),
		    cell: t => labelChips(t)};
	}

	/* The tentacle page's card: its labels, the proposed ones to
	 * accept, an admin's editor. update(t) at each refresh. */
	function labelsCard(id, onSaved) {
		const status = notice(null);
		status.id = 'labels-status';
		const chips = el('div', {id: 'tentacle-labels'});
		const input = el('input', {type: 'text', id: 'labels-input',
		    autocomplete: 'off', placeholder: 'web, db',
		    spellcheck: 'false'});
		let dirty = false;
		let current = null;
		input.addEventListener('input', () => { dirty = true; });

		async function save(labels) {
			try {
				const t = await api('PUT', '/api/tentacles/' + id +
				    '/labels', {labels: labels});
				dirty = false;
				setNotice(status, 'Labels saved.', 'success');
				update(t, true);
				if (onSaved)
					await onSaved();
			} catch (e) {
				if (e.status !== 401)
					setNotice(status, 'The labels were not ' +
					    'saved: ' + e.message + '.');
			}
		}

		const saveBtn = button('Save labels', {class:
		    'button-primary button-small', id: 'labels-save'},
		    function () {
			const l = parseLabels(input.value);
			if (l === null) {
				setNotice(status, 'A label is 1 to 32 of a-z, ' +
				    '0-9, ".", "_" and "-", separated by commas.');
				return;
			}
			save(l);
		});
		const acceptBtn = button('Accept proposed labels', {class:
		    'button-small', id: 'labels-accept'}, function () {
			if (current)
				save((current.labels || []).concat(
				    current.proposed_labels || []));
		});
		const proposedNote = el('p', {class: 'muted small',
		    id: 'labels-proposed-note'});

		function update(t, force) {
			current = t;
			const probe = el('div', null, labelChips(t));
			if (contentSig(chips) !== contentSig(probe))
				replace(chips, Array.from(probe.childNodes));
			const prop = t.proposed_labels || [];
			setText(proposedNote, prop.length ? 'The host proposes ' +
			    prop.join(', ') + ' (its configuration\'s labels): ' +
			    'shown with "?" until accepted.' : '');
			acceptBtn.hidden = !isAdmin() || prop.length === 0;
			if (force || (!dirty && document.activeElement !== input))
				input.value = (t.labels || []).join(', ');
		}

		const node = card('Labels', el('p', {class: 'muted small'},
		    'Runs and schedules can choose hosts by label.'),
		    chips, proposedNote, status,
		    isAdmin() ? el('div', {class: 'toolbar'},
			field('Labels (comma-separated)', input),
			saveBtn, acceptBtn) : null);
		node.id = 'labels-card';
		return {node: node, update: update};
	}

	/* The new-run form's third target: the hosts with any of some
	 * labels. */
	/*
	 * "Hosts with the labels": the labels typed, the labels of the
	 * hosts seen so far offered (the brain lists no labels), and
	 * whether any accepted host has one of them, asked with label= and
	 * limit=1 (found: true, false, or null while unknown).
	 */
	function runLabelTarget(onChange) {
		const radio = el('input', {type: 'radio', name: 'target',
		    id: 'target-labels', value: 'labels'});
		const offered = el('datalist', {id: 'run-label-list'});
		const input = el('input', {type: 'text', id: 'run-labels',
		    autocomplete: 'off', placeholder: 'web, db',
		    'aria-label': 'Labels', spellcheck: 'false',
		    list: 'run-label-list'});
		let found = null, seq = 0;
		radio.addEventListener('change', onChange);
		const check = debounced(200, async function () {
			const mine = ++seq;
			const want = (parseLabels(input.value) || []).slice(0, 8);
			let any = want.length ? false : null;
			try {
				for (const l of want) {
					const r = await api('GET', '/api/tentacles?' +
					    'enrolment=accepted&limit=1&label=' +
					    encodeURIComponent(l));
					if ((r.tentacles || []).length) {
						any = true;
						break;
					}
				}
			} catch (e) {
				any = null;
			}
			if (mine !== seq)
				return;
			found = any;
			onChange();
		});
		input.addEventListener('focus', function () {
			const labels = new Set();
			for (const t of state.hosts.values())
				for (const l of t.labels || [])
					labels.add(l);
			replace(offered, Array.from(labels).sort().slice(0, 200)
			    .map(l => el('option', {value: l})));
		});
		input.addEventListener('input', function () {
			radio.checked = true;
			found = null;
			onChange();
			check();
		});
		return {
			radio: radio,
			node: el('label', {for: 'target-labels', class: 'radio'},
			    radio, 'Hosts with the labels ', input, offered),
			labels: () => parseLabels(input.value) || [],
			valid: () => parseLabels(input.value) !== null &&
			    parseLabels(input.value).length > 0,
			found: () => found,
		};
	}

	/* A job that waits for its host (queued while it is offline, or
	 * not reached: sent again when it is back): until when. */
	function waitingNote(job) {
		if (!job.expires_at || job.result ||
		    (job.state !== 'queued' && job.state !== 'unreachable'))
			return '';
		return 'Waits for its host until ' + fmtTime(job.expires_at) +
		    ', then expires.';
	}

	function fmtEvery(s) {
		if (s % 86400 === 0)
			return 'every ' + plural(s / 86400, 'day');
		if (s % 3600 === 0)
			return 'every ' + plural(s / 3600, 'hour');
		if (s % 60 === 0)
			return 'every ' + plural(s / 60, 'minute');
		return 'every ' + plural(s, 'second');
	}

	function scheduleWhen(s) {
		return s.every ? fmtEvery(s.every) : el('span', null, 'cron ',
		    el('code', null, s.cron));
	}

	function scheduleTargets(s) {
		if (s.labels)
			return el('span', null, 'labels ', labelChips({labels:
			    s.labels}));
		if (s.tentacles === 'all')
			return 'all hosts';
		return s.tentacles.map(id => hostName(id)).join(', ');
	}

	/* #/schedules: the list (next firing in the brain's time zone),
	 * and an admin's form to create or change one. */
	function schedulesView() {
		const status = notice(null);
		const updated = updatedLine();
		const tz = el('p', {class: 'muted small', id: 'schedules-tz'});
		const formStatus = notice(null);
		formStatus.id = 'schedule-status';
		let scripts = [], editing = null, hostsFound = false;

		const table = dataTable({columns: [
		    {label: 'ID', sort: s => s.id, class: 'num',
			cell: s => '#' + s.id},
		    {label: 'Script', head: true, sort: s => s.script,
			class: 'mono', cell: s => s.script},
		    {label: 'When', cell: s => scheduleWhen(s)},
		    {label: 'Hosts', class: 'wrap', cell: s => scheduleTargets(s)},
		    {label: 'Next firing', sort: s => s.next_at || '',
			cell: s => s.enabled ? el('span', {class:
			    'next-firing'}, fmtTime(s.next_at)) :
			el('span', {class: 'muted'}, s.disabled_reason ?
			    'disabled: ' + s.disabled_reason : 'disabled')},
		    {label: 'Last run', hideSmall: true,
			cell: s => s.last_run ? link('#/runs/' + s.last_run,
			    '#' + s.last_run) : '—'},
		    isAdmin() ? {label: 'Actions', class: 'actions-cell',
			cell: s => el('span', {class: 'row-actions'},
			    button(s.enabled ? 'Disable' : 'Enable', {class:
				'button-small schedule-toggle', dataset:
				{id: s.id}}, () => toggle(s)),
			    button('Edit', {class: 'button-small ' +
				'schedule-edit', dataset: {id: s.id}},
				() => edit(s)),
			    confirmButton('Delete', 'Delete schedule #' + s.id +
				'?', 'Yes, delete', async () => {
				await api('DELETE', '/api/schedules/' + s.id);
				await refresh(false);
			    }, status, {class: 'button-danger-outline ' +
				'button-small schedule-delete',
				dataset: {id: s.id}}))} : null,
		].filter(c => c), key: s => s.id, sortCol: 0,
		    caption: 'Schedules', rowClass: s => 'schedule-row' +
		    (s.enabled ? '' : ' is-disabled'),
		    empty: 'No schedule yet: audits run only when asked.'});
		table.table.id = 'schedules-table';

		async function toggle(s) {
			try {
				await api('PUT', '/api/schedules/' + s.id,
				    {enabled: !s.enabled});
				await refresh(false);
			} catch (e) {
				if (e.status !== 401)
					setNotice(status, errorText(e));
			}
		}

		/* the form */
		const scriptSel = el('select', {id: 'schedule-script'});
		const tAll = el('input', {type: 'radio', name: 'sched-target',
		    id: 'schedule-target-all', value: 'all'});
		const tHosts = el('input', {type: 'radio', name: 'sched-target',
		    id: 'schedule-target-hosts', value: 'hosts'});
		const tLabels = el('input', {type: 'radio', name: 'sched-target',
		    id: 'schedule-target-labels', value: 'labels'});
		const hosts = hostPicker('schedule-hosts', () => {
			tHosts.checked = true;
		}, () => {});
		const labelsIn = el('input', {type: 'text', id: 'schedule-labels',
		    placeholder: 'web, db', autocomplete: 'off',
		    'aria-label': 'Labels', spellcheck: 'false'});
		const wEvery = el('input', {type: 'radio', name: 'sched-when',
		    id: 'schedule-when-every', value: 'every'});
		const wCron = el('input', {type: 'radio', name: 'sched-when',
		    id: 'schedule-when-cron', value: 'cron'});
		const everyN = el('input', {type: 'number', id: 'schedule-every',
		    min: '1', value: '1', 'aria-label': 'Interval'});
		const everyUnit = select([['60', 'minutes'], ['3600', 'hours'],
		    ['86400', 'days']], '86400', {id: 'schedule-every-unit',
		    'aria-label': 'Unit'});
		const cronIn = el('input', {type: 'text', id: 'schedule-cron',
		    placeholder: '30 3 * * mon-fri', autocomplete: 'off',
		    spellcheck: 'false', 'aria-label': 'Cron expression'});
		const enabledBox = el('input', {type: 'checkbox',
		    id: 'schedule-enabled', checked: true});
		const formTitle = el('h2', {id: 'schedule-form-title'},
		    'New schedule');
		const saveBtn = el('button', {type: 'submit', id:
		    'schedule-save', class: 'button button-primary'}, 'Create');
		const cancelBtn = button('Cancel', {id: 'schedule-cancel'},
		    () => edit(null));
		labelsIn.addEventListener('input', () => { tLabels.checked = true; });
		cronIn.addEventListener('input', () => { wCron.checked = true; });
		everyN.addEventListener('input', () => { wEvery.checked = true; });

		function fillChoices() {
			const keep = scriptSel.value;
			replace(scriptSel, scripts.map(n =>
			    el('option', {value: n}, n)));
			if (keep)
				scriptSel.value = keep;
		}

		function edit(s) {
			editing = s;
			setNotice(formStatus, '');
			setText(formTitle, s ? 'Schedule #' + s.id : 'New schedule');
			setText(saveBtn, s ? 'Save' : 'Create');
			cancelBtn.hidden = !s;
			if (s && scripts.indexOf(s.script) === -1) {
				scripts.push(s.script);
				fillChoices();
			}
			scriptSel.value = s ? s.script : (scripts[0] || '');
			tAll.checked = !s || s.tentacles === 'all';
			tHosts.checked = !!s && Array.isArray(s.tentacles);
			tLabels.checked = !!s && !!s.labels;
			labelsIn.value = s && s.labels ? s.labels.join(', ') : '';
			hosts.choose(s && Array.isArray(s.tentacles) ?
			    s.tentacles : []).catch(() => {});
			wEvery.checked = !s || !!s.every;
			wCron.checked = !!s && !s.every;
			cronIn.value = s && s.cron ? s.cron : '';
			let n = 1, unit = '86400';
			if (s && s.every)
				for (const u of ['86400', '3600', '60'])
					if (s.every % Number(u) === 0) {
						n = s.every / Number(u);
						unit = u;
						break;
					}
			everyN.value = String(n);
			everyUnit.value = unit;
			enabledBox.checked = !s || s.enabled;
			if (s)
				scriptSel.focus();
		}

		function body() {
			const b = {script: scriptSel.value,
			    enabled: enabledBox.checked};
			if (tLabels.checked) {
				const l = parseLabels(labelsIn.value);
				if (l === null || l.length === 0)
					throw new Error('Give one or more labels ' +
					    '(a-z, 0-9, ".", "_", "-"), separated ' +
					    'by commas.');
				b.labels = l;
			} else if (tHosts.checked) {
				b.tentacles = hosts.chosen();
				if (b.tentacles.length === 0)
					throw new Error('Choose at least one host.');
			} else
				b.tentacles = 'all';
			if (wCron.checked)
				b.cron = cronIn.value.trim();
			else
				b.every = Math.round(Number(everyN.value) *
				    Number(everyUnit.value));
			return b;
		}

		async function submit(ev) {
			ev.preventDefault();
			let b;
			try {
				b = body();
			} catch (e) {
				setNotice(formStatus, e.message);
				return;
			}
			saveBtn.disabled = true;
			try {
				if (editing) {
					await api('PUT', '/api/schedules/' +
					    editing.id, b);
					flash('Schedule #' + editing.id + ' saved.',
					    'success');
				} else {
					const r = await api('POST',
					    '/api/schedules', b);
					flash('Schedule #' + r.id + ' created.',
					    'success');
				}
				edit(null);
				await refresh(false);
				/* an interval fires at once: show its run */
				setTimeout(() => refresh(true), 2000);
				setNotice(formStatus, state.flash ?
				    state.flash.text : '', 'success');
				state.flash = null;
			} catch (e) {
				if (e.status !== 401)
					setNotice(formStatus, 'Not saved: ' +
					    e.message + '.');
			}
			saveBtn.disabled = false;
		}

		async function refresh(background) {
			await guarded(status, async function () {
				const opts = {background: background};
				/* the first hosts by name, once: the rest
				 * are found by the picker */
				const [r, , sr] = await Promise.all([
				    api('GET', '/api/schedules', undefined, opts),
				    hostsFound ? null : hosts.search(background),
				    api('GET', '/api/scripts', undefined, opts)]);
				hostsFound = true;
				/* the names of the hosts of the schedules */
				await Promise.all(Array.from(new Set([].concat(
				    ...(r.schedules || []).map(x => Array.isArray(
				    x.tentacles) ? x.tentacles : [])))).filter(n =>
				    !state.hosts.has(n)).slice(0, 20).map(n =>
				    tentacleById(n, opts).catch(() => null)));
				const names = [];
				for (const s of sr.scripts || [])
					if (names.indexOf(s.name) === -1)
						names.push(s.name);
				names.sort();
				if (names.join('\n') !== scripts.join('\n')) {
					scripts = names;
					fillChoices();
					if (!editing && !scriptSel.value)
						scriptSel.value = scripts[0] || '';
				}
				setText(tz, 'Times are shown in your browser\'s ' +
				    'time zone; cron expressions are the ' +
				    'brain\'s local time: ' + r.time_zone +
				    ' (UTC' + r.utc_offset + ').');
				table.update(r.schedules || []);
				touch(updated);
			}, 'Schedules unavailable');
		}

		const form = el('form', {class: 'card stack', id: 'schedule-form',
		    on: {submit: submit}, 'aria-labelledby':
		    'schedule-form-title'},
		    el('div', {class: 'card-head'}, formTitle),
		    formStatus,
		    field('Script', scriptSel),
		    el('fieldset', null, el('legend', null, 'Hosts'),
			el('div', {class: 'radio-row'},
			    el('label', {for: 'schedule-target-all',
				class: 'radio'}, tAll, 'All accepted hosts'),
			    el('label', {for: 'schedule-target-hosts',
				class: 'radio'}, tHosts, 'Chosen hosts'),
			    el('label', {for: 'schedule-target-labels',
				class: 'radio'}, tLabels, 'Hosts with labels')),
			hosts.node, labelsIn),
		    el('fieldset', null, el('legend', null, 'When'),
			el('div', {class: 'radio-row'},
			    el('label', {for: 'schedule-when-every',
				class: 'radio'}, wEvery, 'Every ', everyN,
				everyUnit),
			    el('label', {for: 'schedule-when-cron',
				class: 'radio'}, wCron, 'Cron ', cronIn)),
			el('p', {class: 'hint'}, 'At least a minute. An ' +
			    'interval starts now; a cron expression is MIN ' +
			    'HOUR DOM MON DOW, in the brain\'s local time.')),
		    el('label', {for: 'schedule-enabled', class: 'radio'},
			enabledBox, 'Enabled'),
		    el('div', {class: 'toolbar'}, saveBtn, cancelBtn));
		cancelBtn.hidden = true;
		tAll.checked = true;
		wEvery.checked = true;

		const node = el('div', {class: 'stack'},
		    pageHead('Schedules'),
		    status,
		    cardWithHead('Schedules', updated, tz, table.node),
		    isAdmin() ? form : null);
		return {title: 'Schedules', node: node, start: function () {
			const tick = poll(REFRESH_MS, refresh);
			tick(false);
		}};
	}

	/* ---------------------------------------------------- screens */

	function showLogin(message) {
		document.title = PRODUCT + ' — Log in';
		showPage(loginView(message));
	}

	/* ------------------------------------------- compliance (h16b) */

	/*
	 * #/compliance: the fleet's matrix (hosts x scripts or checks)
	 * drawn in one canvas, the score, the history chart (SVG drawn
	 * here), waivers. GET /api/compliance pages over tentacles: the
	 * page asks for every page and draws them together.
	 */
	const VERDICT_COLOURS = {
		compliant: '#2e7d32', findings: '#c62828', error: '#ef6c00',
		waived: '#7b1fa2', none: '#cfd8dc',
	};
	const VERDICT_RANK = {findings: 0, error: 1, waived: 2, none: 3,
	    compliant: 4};
	const SVG_NS = 'http://www.w3.org/2000/svg';

	function svgEl(tag, attrs, ...children) {
		const node = document.createElementNS(SVG_NS, tag);
		for (const [k, v] of Object.entries(attrs || {}))
			node.setAttribute(k, String(v));
		for (const c of children)
			node.appendChild(typeof c === 'string' ?
			    document.createTextNode(c) : c);
		return node;
	}

	function verdictLegend() {
		return el('ul', {class: 'legend', id: 'compliance-legend'},
		    Object.entries(VERDICT_COLOURS).map(([v, c]) => {
			const sw = el('span', {class: 'swatch'});
			sw.style.backgroundColor = c;
			return el('li', null, sw, ' ',
			    v === 'none' ? 'never run' : v);
		    }));
	}

	async function complianceAll(query, background) {
		let after = 0, first = null;
		for (;;) {
			const q = new URLSearchParams(query);
			q.set('after', String(after));
			const r = await api('GET', '/api/compliance?' + q,
			    undefined, {background: background});
			if (first === null)
				first = r;
			else
				first.tentacles = first.tentacles.concat(
				    r.tentacles);
			if (r.next === null || r.next === undefined)
				break;
			after = r.next;
		}
		return first;
	}

	/* The matrix in one canvas: rows hosts, columns scripts or checks;
	 * hover or keyboard focus shows a cell, a click opens its result. */
	function matrixCanvas(onFocus) {
		/* Cells of 14 px; past MATRIX_MAX_PX of rows they shrink (down
		 * to 3 px, host names then left out): a canvas has a maximum
		 * size. */
		const MATRIX_MAX_PX = 30000, TOP = 120;
		let CELL = 14, LEFT = 190;
		const canvas = el('canvas', {id: 'compliance-canvas',
		    tabindex: '0', role: 'img',
		    'aria-label': 'Compliance matrix'});
		const tip = el('div', {class: 'matrix-tip', id:
		    'compliance-tip', role: 'status', hidden: true});
		let rows = [], cols = [], cur = null;

		function draw() {
			const t0 = performance.now();
			CELL = Math.max(3, Math.min(14, Math.floor(
			    MATRIX_MAX_PX / Math.max(1, rows.length))));
			LEFT = CELL >= 10 ? 190 : 8;
			/* room on the right for the last columns' slanted
			 * names */
			const w = LEFT + cols.length * CELL + 70;
			const h = TOP + rows.length * CELL + 4;
			const ratio = window.devicePixelRatio || 1;
			canvas.width = Math.ceil(w * ratio);
			canvas.height = Math.ceil(h * ratio);
			canvas.style.width = w + 'px';
			canvas.style.height = h + 'px';
			const g = canvas.getContext('2d');
			g.scale(ratio, ratio);
			g.fillStyle = '#ffffff';
			g.fillRect(0, 0, w, h);
			g.font = '11px system-ui, sans-serif';
			g.fillStyle = '#263238';
			g.textBaseline = 'middle';
			rows.forEach((t, i) => {
				if (CELL < 10)
					return;
				const name = t.hostname.length > 28 ?
				    t.hostname.slice(0, 27) + '…' : t.hostname;
				g.fillText(name, 4, TOP + i * CELL + CELL / 2);
			});
			cols.forEach((c, j) => {
				g.save();
				g.translate(LEFT + j * CELL + CELL / 2 + 3,
				    TOP - 4);
				g.rotate(-Math.PI / 3);
				g.fillText(c.length > 22 ? c.slice(0, 21) +
				    '…' : c, 0, 0);
				g.restore();
			});
			rows.forEach((t, i) => cols.forEach((c, j) => {
				const cell = t.cells[c] || {verdict: 'none'};
				g.fillStyle = VERDICT_COLOURS[cell.verdict] ||
				    VERDICT_COLOURS.none;
				g.fillRect(LEFT + j * CELL + 1,
				    TOP + i * CELL + 1, CELL - 2, CELL - 2);
			}));
			if (cur !== null) {
				g.strokeStyle = '#000000';
				g.lineWidth = 2;
				g.strokeRect(LEFT + cur[1] * CELL,
				    TOP + cur[0] * CELL, CELL, CELL);
			}
			/* for the bench and the tests: how long a drawing took */
			canvas.dataset.drawMs = (performance.now() - t0)
			    .toFixed(1);
			canvas.dataset.cells = String(rows.length * cols.length);
		}

		function cellAt(ev) {
			const r = canvas.getBoundingClientRect();
			const x = ev.clientX - r.left - LEFT;
			const y = ev.clientY - r.top - TOP;
			const j = Math.floor(x / CELL), i = Math.floor(y / CELL);
			if (x < 0 || y < 0 || i >= rows.length || j >= cols.length)
				return null;
			return [i, j];
		}

		/* Keep the cell in sight when the keyboard moved to it. */
		function reveal(pos) {
			const sc = canvas.parentNode;
			const y = TOP + pos[0] * CELL, x = LEFT + pos[1] * CELL;
			if (y < sc.scrollTop || y + CELL > sc.scrollTop +
			    sc.clientHeight)
				sc.scrollTop = y - sc.clientHeight / 2;
			if (x < sc.scrollLeft || x + CELL > sc.scrollLeft +
			    sc.clientWidth)
				sc.scrollLeft = x - sc.clientWidth / 2;
		}

		function show(pos) {
			cur = pos;
			draw();
			if (pos === null) {
				tip.hidden = true;
				return;
			}
			const t = rows[pos[0]], c = cols[pos[1]];
			const cell = t.cells[c] || {verdict: 'none'};
			const parts = [t.hostname + ' · ' + c + ': ' +
			    (cell.verdict === 'none' ? 'never run' :
			    cell.verdict)];
			if (cell.at)
				parts.push(fmtAgo(cell.at) + ' (' +
				    fmtTime(cell.at) + ')');
			if (cell.failed_checks)
				parts.push(plural(cell.failed_checks,
				    'failed check', 'failed checks'));
			if (cell.waiver)
				parts.push((cell.waiver.unused ?
				    'waiver (unused): ' : 'waived: ') +
				    cell.waiver.reason);
			tip.textContent = parts.join(' — ');
			tip.hidden = false;
			onFocus(t, c, cell);
		}

		canvas.addEventListener('mousemove', ev => {
			const p = cellAt(ev);
			if (p === null || cur === null || p[0] !== cur[0] ||
			    p[1] !== cur[1])
				show(p);
		});
		canvas.addEventListener('click', ev => {
			const r = canvas.getBoundingClientRect();
			const i = Math.floor((ev.clientY - r.top - TOP) / CELL);
			if (ev.clientX - r.left < LEFT && i >= 0 &&
			    i < rows.length) {
				go('#/tentacle/' + rows[i].id);	/* its name */
				return;
			}
			const p = cellAt(ev);
			if (p === null)
				return;
			const cell = rows[p[0]].cells[cols[p[1]]];
			if (cell && cell.result)
				go('#/results/' + cell.result);
		});
		canvas.addEventListener('focus', () => {
			if (cur === null && rows.length && cols.length)
				show([0, 0]);
		});
		canvas.addEventListener('keydown', ev => {
			if (cur === null)
				return;
			const [i, j] = cur;
			const moves = {ArrowUp: [i - 1, j], ArrowDown: [i + 1, j],
			    ArrowLeft: [i, j - 1], ArrowRight: [i, j + 1]};
			if (moves[ev.key]) {
				const [a, b] = moves[ev.key];
				if (a >= 0 && b >= 0 && a < rows.length &&
				    b < cols.length) {
					show([a, b]);
					reveal([a, b]);
				}
				ev.preventDefault();
			} else if (ev.key === 'Enter') {
				const cell = rows[i].cells[cols[j]];
				if (cell && cell.result)
					go('#/results/' + cell.result);
			}
		});
		return {
			node: el('div', {class: 'matrix-wrap'}, tip,
			    el('div', {class: 'matrix-scroll'}, canvas)),
			/* New rows (a refresh, another sort): the cell shown
			 * stays shown if it still exists. */
			set(r, c) {
				rows = r;
				cols = c;
				if (cur !== null && (cur[0] >= rows.length ||
				    cur[1] >= cols.length))
					cur = null;
				if (cur !== null)
					show(cur);
				else {
					tip.hidden = true;
					draw();
				}
			},
		};
	}

	/* The daily score and counts, drawn as one SVG. */
	function historyChart(points) {
		const W = 640, H = 200, L = 36, B = 24, R = 72, T = 8;
		const svg = svgEl('svg', {viewBox: '0 0 ' + W + ' ' + H,
		    width: W, height: H, id: 'compliance-history-chart',
		    role: 'img', 'aria-label': 'Daily compliance score'});
		const n = points.length;
		const x = i => L + (n <= 1 ? 0 : i * (W - L - R) / (n - 1));
		const maxCount = Math.max(1, ...points.map(p =>
		    p.findings + p.errors));
		const yScore = s => T + (H - T - B) * (1 - s / 100);
		const yCount = c => T + (H - T - B) * (1 - c / maxCount);
		for (const v of [0, 50, 100]) {
			svg.appendChild(svgEl('line', {x1: L, x2: W - R,
			    y1: yScore(v), y2: yScore(v), stroke: '#eceff1'}));
			svg.appendChild(svgEl('text', {x: 2, y: yScore(v) + 4,
			    'font-size': 10, fill: '#546e7a'}, v + '%'));
		}
		function line(values, colour, y, cls) {
			const pts = [];
			values.forEach((v, i) => {
				if (v !== null && v !== undefined)
					pts.push(x(i).toFixed(1) + ',' +
					    y(v).toFixed(1));
			});
			if (pts.length)
				svg.appendChild(svgEl('polyline', {points:
				    pts.join(' '), fill: 'none', stroke: colour,
				    'stroke-width': cls === 'score' ? 2.5 : 1.2,
				    class: 'history-' + cls}));
		}
		/* (compliant cells would retrace the score: not drawn) */
		line(points.map(p => p.findings), VERDICT_COLOURS.findings,
		    yCount, 'findings');
		line(points.map(p => p.errors), VERDICT_COLOURS.error, yCount,
		    'errors');
		line(points.map(p => p.score), '#1565c0', yScore, 'score');
		/* the counts' axis, on the right */
		svg.appendChild(svgEl('text', {x: W - R + 4, y: yCount(maxCount) +
		    4, 'font-size': 10, fill: '#546e7a'}, maxCount + ' cells'));
		svg.appendChild(svgEl('text', {x: W - R + 4, y: yCount(0) + 4,
		    'font-size': 10, fill: '#546e7a'}, '0'));
		if (n) {
			svg.appendChild(svgEl('text', {x: L, y: H - 6,
			    'font-size': 10, fill: '#546e7a'}, points[0].date));
			svg.appendChild(svgEl('text', {x: W - R, y: H - 6,
			    'font-size': 10, fill: '#546e7a',
			    'text-anchor': 'end'}, points[n - 1].date));
			if (n > 2)
				svg.appendChild(svgEl('text', {x: x(Math.floor(
				    (n - 1) / 2)), y: H - 6, 'font-size': 10,
				    fill: '#546e7a', 'text-anchor': 'middle'},
				    points[Math.floor((n - 1) / 2)].date));
		}
		points.forEach((p, i) => {
			const dot = svgEl('circle', {cx: x(i), cy:
			    yScore(p.score === null ? 0 : p.score), r: 3,
			    fill: p.score === null ? 'none' : '#1565c0'});
			dot.appendChild(svgEl('title', null, p.date + ': ' +
			    (p.score === null ? 'no verdict' : p.score + '%') +
			    ', ' + p.compliant + ' compliant, ' + p.findings +
			    ' findings, ' + p.errors + ' errors'));
			svg.appendChild(dot);
		});
		return svg;
	}

	function waiversCard(status, onChange) {
		const table = dataTable({columns: [
		    {label: 'ID', class: 'num', sort: w => w.id,
			cell: w => String(w.id)},
		    {label: 'For', sort: w => w.hostname || w.label,
			cell: w => w.label ? 'label ' + w.label :
			    (w.hostname || 'tentacle ' + w.tentacle)},
		    {label: 'Script', sort: w => w.script, cell: w =>
			w.script + (w.check ? ' · ' + w.check : '')},
		    {label: 'Reason', cell: w => w.reason},
		    {label: 'By', sort: w => w.created_by,
			cell: w => w.created_by},
		    {label: 'Expires', sort: w => w.expires_at, cell: w =>
			w.expired ? badge('expired', 'neutral') :
			timeEl(w.expires_at, true)},
		    {label: '', class: 'actions-cell', cell: w => isAdmin() ?
			confirmButton('Remove', 'Remove waiver ' + w.id + '?',
			    'Yes, remove', async () => {
				await api('DELETE', '/api/waivers/' + w.id);
				setNotice(status, 'Waiver ' + w.id +
				    ' removed.', 'success');
				await onChange();
			    }, status) : null},
		], key: w => w.id, sortCol: 0, sortDir: -1,
		    caption: 'Waivers', empty: 'No waiver.'});
		table.table.id = 'waivers-table';
		let form = null;
		const targets = el('datalist', {id: 'waiver-targets'});
		const scripts = el('datalist', {id: 'waiver-scripts'});
		if (isAdmin()) {
			const target = el('input', {id: 'waiver-target',
			    required: true, placeholder: 'tentacle ID or label',
			    autocomplete: 'off', list: 'waiver-targets'});
			const script = el('input', {id: 'waiver-script',
			    required: true, autocomplete: 'off',
			    list: 'waiver-scripts'});
			const check = el('input', {id: 'waiver-check',
			    autocomplete: 'off', placeholder: 'optional'});
			const reason = el('input', {id: 'waiver-reason',
			    required: true, maxlength: 500});
			const d = new Date(Date.now() + 30 * 86400000);
			const expires = el('input', {id: 'waiver-expires',
			    type: 'date', required: true, value:
			    d.getFullYear() + '-' + pad(d.getMonth() + 1) +
			    '-' + pad(d.getDate())});
			form = el('form', {class: 'form-grid', id:
			    'waiver-form', on: {submit: async ev => {
				ev.preventDefault();
				const body = {script: script.value.trim(),
				    reason: reason.value, expires_at: new Date(
				    expires.value + 'T23:59:59').toISOString()
				    .replace(/\.\d+Z$/, 'Z')};
				const tv = target.value.trim();
				if (/^\d+$/.test(tv))
					body.tentacle = Number(tv);
				else
					body.label = tv;
				if (check.value.trim())
					body.check = check.value.trim();
				try {
					const r = await api('POST',
					    '/api/waivers', body);
					setNotice(status, 'Waiver ' + r.id +
					    ' added.', 'success');
					reason.value = '';
					await onChange();
				} catch (e) {
					setNotice(status, errorText(e),
					    'error');
				}
			    }}},
			    field('Tentacle or label', target),
			    field('Script', script),
			    field('Check', check, 'empty: the whole script'),
			    field('Reason', reason),
			    field('Expires', expires, 'at most a year'),
			    targets, scripts,
			    el('button', {type: 'submit', id: 'waiver-add',
				class: 'button button-primary'},
				'Add waiver'));
		}
		return {
			node: card('Waivers', table.node || table.table,
			    form),
			update: list => table.update(list),
			/* What the form proposes: the matrix's hosts, labels
			 * and scripts. */
			suggest(d) {
				if (d.by !== 'script')
					return;
				const labels = new Set();
				for (const t of d.tentacles)
					for (const l of t.labels || [])
						labels.add(l);
				replace(targets, [...labels].sort().map(l =>
				    el('option', {value: l}, 'label ' + l)),
				    d.tentacles.slice(0, 2000).map(t =>
				    el('option', {value: String(t.id)},
				    t.hostname)));
				replace(scripts, d.scripts.map(n =>
				    el('option', {value: n})));
			},
		};
	}

	function complianceView(params, query) {
		const status = notice(null);
		const score = el('p', {class: 'score', id: 'compliance-score'},
		    '…');
		const by = select([['script', 'by script'],
		    ['check', 'by check']], query.get('by') || 'script',
		    {id: 'compliance-by'});
		const labelList = el('datalist', {id: 'compliance-label-list'});
		const labels = el('input', {id: 'compliance-labels',
		    placeholder: 'web,db', autocomplete: 'off',
		    list: 'compliance-label-list',
		    value: query.get('labels') || ''});
		const knownLabels = new Set();
		const sort = select([['host', 'by host'],
		    ['worst', 'worst first']], 'host', {id: 'compliance-sort'});
		const asOf = el('input', {type: 'date', id: 'compliance-as-of',
		    value: query.get('as_of') || ''});
		const range = select([['30', '30 days'], ['90', '90 days']],
		    '30', {id: 'compliance-range'});
		const chart = el('div', {id: 'compliance-history'});
		const chartKey = el('ul', {class: 'legend'},
		    [['#1565c0', 'score (left axis, %)'],
		    [VERDICT_COLOURS.findings, 'cells with findings (right '+
		    'axis)'], [VERDICT_COLOURS.error, 'cells in error']].map(
		    ([c, t]) => {
			const sw = el('span', {class: 'swatch'});
			sw.style.backgroundColor = c;
			return el('li', null, sw, ' ', t);
		    }));
		const aside = el('div', {id: 'compliance-cell', class:
		    'muted small'}, 'Point at a cell, or focus the matrix ' +
		    'and use the arrow keys; a click opens its result.');
		const mx = matrixCanvas(showCell);
		const waivers = waiversCard(status, async () => {
			await loadWaivers(false);
			await load(true);
		});
		let data = null;

		let shown = 0;		/* the last cell asked for */

		async function showCell(t, c, cell) {
			const mine = ++shown;
			const parts = [el('strong', null, t.hostname + ' · ' +
			    c), ' ', badge(cell.verdict === 'none' ?
			    'never run' : cell.verdict, cell.verdict ===
			    'compliant' ? 'ok' : cell.verdict === 'none' ?
			    'neutral' : cell.verdict === 'waived' ? 'info' :
			    'err')];
			if (cell.result)
				parts.push(' ', link('#/results/' + cell.result,
				    'Open result'));
			replace(aside, el('p', null, parts));
			if (by.value !== 'script')
				return;
			/* The pointer may only be passing: ask once it rests. */
			await new Promise(done => setTimeout(done, 300));
			if (mine !== shown)
				return;
			try {
				const tl = await api('GET',
				    '/api/compliance/timeline?tentacle=' +
				    t.id + '&script=' + encodeURIComponent(c) +
				    '&limit=30', undefined, {background: true});
				if (mine !== shown)
					return;	/* another cell since */
				aside.appendChild(el('p', {id:
				    'compliance-timeline'}, 'Timeline: ',
				    tl.points.slice().reverse().map(p =>
					el('a', {class: 'tl-dot', href:
					    '#/results/' + p.result, title:
					    fmtTime(p.at) + ': ' + p.verdict,
					    'aria-label': fmtTime(p.at) + ': ' +
					    p.verdict, dataset: {verdict:
					    p.verdict}},
					    p.verdict.charAt(0).toUpperCase()))));
			} catch (e) {
				/* the cell is shown without it */
			}
		}

		function order(list) {
			if (sort.value !== 'worst')
				return list;
			const worst = t => {
				let f = 0, e = 0, w = 0;
				for (const v of Object.values(t.cells)) {
					if (v.verdict === 'findings') f++;
					else if (v.verdict === 'error') e++;
					else if (v.verdict === 'waived') w++;
				}
				return [f, e, w];
			};
			return list.map(t => [worst(t), t]).sort((a, b) =>
			    b[0][0] - a[0][0] || b[0][1] - a[0][1] ||
			    b[0][2] - a[0][2] || a[1].id - b[1].id)
			    .map(x => x[1]);
		}

		function columnsOrder(d) {
			if (sort.value !== 'worst')
				return d.scripts;
			const bad = {};
			for (const s of d.scripts)
				bad[s] = 0;
			for (const t of d.tentacles)
				for (const [s, v] of Object.entries(t.cells))
					if (VERDICT_RANK[v.verdict] < 2)
						bad[s] += 1;
			return d.scripts.slice().sort((a, b) => bad[b] -
			    bad[a] || (a < b ? -1 : 1));
		}

		function redraw() {
			if (data === null)
				return;
			mx.set(order(data.tentacles), columnsOrder(data));
		}

		async function load(background) {
			await guarded(status, async function () {
				const q = new URLSearchParams();
				q.set('by', by.value);
				if (labels.value.trim())
					q.set('labels', labels.value.trim());
				/* The end of that day (local time), now
				 * for today: the brain refuses the future. */
				const end = asOf.value ? new Date(asOf.value +
				    'T23:59:59') : null;
				if (end !== null && end.getTime() < Date.now())
					q.set('as_of', end.toISOString()
					    .replace(/\.\d+Z$/, 'Z'));
				data = await complianceAll(q, background);
				waivers.suggest(data);
				for (const t of data.tentacles)
					for (const l of t.labels || [])
						knownLabels.add(l);
				replace(labelList, [...knownLabels].sort().map(
				    l => el('option', {value: l})));
				const c = data.counts;
				setText(score, (data.score === null ?
				    'No verdict yet' : 'Score ' +
				    data.score.toFixed(1) + '%') + ' — ' +
				    c.compliant + ' compliant, ' + c.findings +
				    ' findings, ' + c.errors + ' errors, ' +
				    c.waived + ' waived, ' + c.none +
				    ' never run · ' + data.tentacles.length +
				    ' hosts × ' + data.scripts.length +
				    (by.value === 'check' ? ' checks' :
				    ' scripts') + ' · as of ' +
				    fmtTime(data.as_of));
				redraw();
			}, 'Compliance unavailable');
		}

		async function loadHistory(background) {
			await guarded(status, async function () {
				const lq = labels.value.trim() ? '&labels=' +
				    encodeURIComponent(labels.value.trim()) : '';
				const h = await api('GET',
				    '/api/compliance/history?days=' +
				    range.value + lq, undefined,
				    {background: background});
				replace(chart, historyChart(h.points));
			}, 'History unavailable');
		}

		async function loadWaivers(background) {
			await guarded(status, async function () {
				const w = await api('GET', '/api/waivers',
				    undefined, {background: background});
				waivers.update(w.waivers || []);
			}, 'Waivers unavailable');
		}

		for (const [input, fn] of [[by, load], [sort, redraw],
		    [asOf, load], [range, loadHistory]])
			input.addEventListener('change', () => fn(false));
		labels.addEventListener('change', () => {
			load(false);
			loadHistory(false);
		});

		const node = el('div', {class: 'view view-compliance'},
		    pageHead('Compliance'),
		    status,
		    cardWithHead('Fleet', score,
			el('div', {class: 'toolbar'},
			    field('Columns', by), field('Labels', labels,
				'any of them'), labelList,
			    field('Sort', sort),
			    field('As of (end of day)', asOf)),
			verdictLegend(), mx.node, aside),
		    cardWithHead('History', field('Range', range), chart,
			chartKey, el('p', {class: 'muted small'}, 'The state ' +
			'at the end of each day (UTC), from the stored ' +
			'results; counts on the scale of the largest.')),
		    waivers.node);
		return {
			node: node,
			start() {
				load(false);
				loadHistory(false);
				loadWaivers(false);
				every(60000, () => load(true));
			},
		};
	}

	/* ----------------------------------------------------- start-up */

	async function boot() {
		window.addEventListener('hashchange', route);
		try {
			const s = await api('GET', '/api/session', undefined,
			    {auth: true});
			state.user = s.user;
			state.csrf = s.csrf;
			sessionFacts(s);
			state.lastActive = Date.now();
			showShell();
		} catch (e) {
			showLogin(e.status === 401 ? null :
			    {text: e.message, kind: 'error'});
		}
	}

	if (document.readyState === 'loading')
		document.addEventListener('DOMContentLoaded', boot);
	else
		boot();
})();
