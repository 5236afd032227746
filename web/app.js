/*
 * Octopus Supervisor dashboard.
 *
 * One small single-page app, no framework, no external resource, no
 * inline code (the server's CSP forbids it). Structure:
 *   - dom helpers: el() builds elements; text only ever goes in through
 *     textContent (el() never parses HTML), so nothing that comes from
 *     the brain or a tentacle can become markup;
 *   - api(): every call to the JSON API (cookie, CSRF token, background
 *     header, errors, session expiry);
 *   - views: functions that return a DOM tree; show() swaps them in and
 *     owns the timers of the current view;
 *   - start-up: GET /api/session decides login or dashboard.
 */
'use strict';

(function () {

	const PRODUCT = 'Octopus Supervisor';
	const HEALTH_INTERVAL_MS = 5000;

	/* ------------------------------------------------------ state */

	const state = {
		user: null,		/* {name, role} once logged in */
		lastUser: '',		/* prefilled after an expiry */
		csrf: null,
		sessionTimeout: null,
		timers: [],		/* intervals of the current view */
		view: null,
	};

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

	function setText(node, text) {
		node.textContent = text === null || text === undefined ?
		    '' : String(text);
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
	 *   auth: a login attempt; its 401 means wrong credentials, not an
	 *     expired session.
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
		if (res.ok)
			return data;

		const message = data && typeof data.error === 'string' ?
		    data.error : 'The brain answered ' + res.status + '.';
		const retry = parseInt(res.headers.get('Retry-After'), 10);
		const err = new ApiError(res.status, message, data,
		    Number.isFinite(retry) ? retry : null);
		if (res.status === 401 && !opts.auth)
			sessionLost();
		throw err;
	}

	/* ------------------------------------------------ view switch */

	function root() {
		return document.getElementById('app');
	}

	function stopTimers() {
		for (const t of state.timers)
			clearInterval(t);
		state.timers = [];
	}

	function every(ms, fn) {
		state.timers.push(setInterval(fn, ms));
	}

	/* Replace the page with a view; focus its first field or heading. */
	function show(name, node) {
		stopTimers();
		state.view = name;
		const app = root();
		clear(app);
		app.appendChild(node);
		const target = node.querySelector('[data-focus]') ||
		    node.querySelector('h1, h2');
		if (target) {
			if (!target.hasAttribute('tabindex') &&
			    !/^(INPUT|BUTTON|SELECT|TEXTAREA)$/.test(
			    target.tagName))
				target.setAttribute('tabindex', '-1');
			target.focus();
		}
	}

	function sessionLost() {
		if (state.user === null)
			return;
		state.lastUser = state.user.name || '';
		state.user = null;
		state.csrf = null;
		showLogin({text: 'Your session expired. Please log in again.',
		    kind: 'warning'});
	}

	/* ------------------------------------------------------ views */

	function logo() {
		return el('img', {class: 'logo', src: '/favicon.svg', alt: '',
		    width: 32, height: 32});
	}

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

	function loginView(message) {
		const user = el('input', {id: 'login-user', name: 'username',
		    type: 'text', autocomplete: 'username', required: true,
		    autocapitalize: 'none', spellcheck: 'false'});
		const pass = el('input', {id: 'login-pass', name: 'password',
		    type: 'password', autocomplete: 'current-password',
		    required: true});
		/* after an expiry the user name is known: ask the password */
		user.value = state.lastUser;
		(state.lastUser ? pass : user).dataset.focus = '';
		state.lastUser = '';
		const button = el('button', {type: 'submit',
		    class: 'button button-primary'}, 'Log in');
		const status = notice(message);

		async function submit(ev) {
			ev.preventDefault();
			setNotice(status, '');
			button.disabled = true;
			try {
				const r = await api('POST', '/api/login',
				    {username: user.value,
				    password: pass.value}, {auth: true});
				pass.value = '';
				state.user = r.user;
				state.csrf = r.csrf;
				showDashboard();
			} catch (e) {
				pass.value = '';
				button.disabled = false;
				setNotice(status, loginError(e), 'error');
				if (e.status === 401 && user.value !== '')
					pass.focus();
				else
					user.focus();
			}
		}

		return el('main', {id: 'main', class: 'login-page'},
		    el('form', {class: 'card login-card',
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
			button));
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

	function topBar() {
		async function logout() {
			try {
				await api('POST', '/api/logout', {});
			} catch (e) {
				if (e.status === 401)
					return;	/* sessionLost() took over */
			}
			state.user = null;
			state.csrf = null;
			showLogin({text: 'You are logged out.', kind: 'info'});
		}
		const u = state.user || {};
		return el('header', {class: 'topbar'},
		    el('div', {class: 'topbar-brand'}, logo(),
			el('span', {class: 'product'}, PRODUCT)),
		    el('div', {class: 'topbar-user'},
			el('span', {class: 'user-name', title: 'Logged in as'},
			    u.name || ''),
			el('span', {class: 'badge badge-role'}, u.role || ''),
			el('button', {type: 'button',
			    class: 'button button-ghost',
			    on: {click: logout}}, 'Log out')));
	}

	function formatUptime(seconds) {
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
			return m + ' min ' + s + ' s';
		return s + ' s';
	}

	function stateBadge(value) {
		const kind = value === 'up' ? 'ok' :
		    value === 'restarting' ? 'warn' : 'unknown';
		return el('span', {class: 'badge badge-' + kind},
		    value || 'unknown');
	}

	/* The "Brain health" card; refresh() fills it. */
	function healthPanel() {
		const rows = el('tbody');
		const meta = el('dl', {class: 'meta'});
		const updated = el('p', {class: 'muted small',
		    'aria-live': 'polite'}, 'Loading…');
		const problem = notice(null);

		function metaItem(label, value) {
			return el('div', {class: 'meta-item'},
			    el('dt', null, label), el('dd', null, value));
		}

		function fill(h) {
			clear(rows);
			const children = Array.isArray(h.children) ?
			    h.children : [];
			for (const c of children) {
				rows.appendChild(el('tr', null,
				    el('th', {scope: 'row'}, c.name),
				    el('td', null, stateBadge(c.state)),
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
			clear(meta);
			append(meta, [
			    metaItem('Version', h.version || '—'),
			    metaItem('Uptime', formatUptime(h.uptime)),
			    metaItem('Refused handshakes',
				h.refused_handshakes === undefined ? '—' :
				h.refused_handshakes)]);
			setText(updated, 'Updated ' +
			    new Date().toLocaleTimeString());
		}

		async function refresh(background) {
			try {
				fill(await api('GET', '/api/health', undefined,
				    {background: background}));
				setNotice(problem, '');
			} catch (e) {
				if (e.status === 401)
					return;	/* back to the login form */
				setNotice(problem, 'Health unavailable: ' +
				    e.message, 'warning');
			}
		}

		const panel = el('section', {class: 'card',
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
				el('th', {scope: 'col', class: 'num'}, 'PID'),
				el('th', {scope: 'col', class: 'num'},
				    'Restarts'))),
			    rows)),
		    meta);
		return {node: panel, refresh: refresh};
	}

	function dashboardView() {
		const health = healthPanel();
		const view = el('div', {class: 'layout'},
		    topBar(),
		    el('main', {id: 'main', class: 'content', tabindex: '-1'},
			el('h1', {class: 'visually-hidden'}, 'Dashboard'),
			el('div', {class: 'grid'}, health.node)));
		return {node: view, start: function () {
			health.refresh(false);
			every(HEALTH_INTERVAL_MS, function () {
				if (!document.hidden)
					health.refresh(true);
			});
		}};
	}

	/* ---------------------------------------------------- screens */

	function showLogin(message) {
		document.title = PRODUCT + ' — Log in';
		show('login', loginView(message));
	}

	function showDashboard() {
		document.title = PRODUCT;
		const v = dashboardView();
		show('dashboard', v.node);
		v.start();
	}

	/* ----------------------------------------------------- start-up */

	async function boot() {
		try {
			const s = await api('GET', '/api/session', undefined,
			    {auth: true});
			state.user = s.user;
			state.csrf = s.csrf;
			state.sessionTimeout = s.session_timeout;
			showDashboard();
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
