// presence.js - who is here (API.md): renders the room's presence list,
// which arrives over the live connection (transports.js: an SSE presence
// event, a WebSocket presence frame, a long-poll's presence field).
// Verified users are marked, each but oneself with a "Message USER"
// button when the page offers direct messages (window.fcgichat.openDirect);
// anonymous names are shown plainly.

export class PresenceList {
  /** ul: the list element to render into; me(): the signed-in user, or
   * null (no button to message oneself). */
  constructor(ul, me = () => null) {
    this.ul = ul;
    this.me = me;
    this.people = [];
  }

  clear() { this.show({ people: [] }); }

  show(list) {
    const ul = this.ul;
    const direct = typeof window.fcgichat?.openDirect === 'function';
    this.people = Array.isArray(list.people) ? list.people : [];
    ul.replaceChildren();
    for (const p of this.people) {
      const li = document.createElement('li');
      li.className = `presence-person${p.verified ? ' verified' : ''}`;
      li.dataset.nick = p.nick;
      const name = document.createElement('span');
      name.className = 'presence-name';
      name.textContent = p.nick;
      li.append(name);
      if (p.verified) {
        const badge = document.createElement('span');
        badge.className = 'presence-verified';
        badge.title = 'Signed in';
        badge.textContent = '✓';
        li.append(badge);
      } else {
        li.title = 'Not signed in: anyone may use this name';
      }
      if (p.verified && direct && p.user !== this.me()) {
        const b = document.createElement('button');
        b.type = 'button';
        b.className = 'presence-direct';
        b.textContent = `Message ${p.user}`;
        b.addEventListener('click', () => window.fcgichat.openDirect(p.user));
        li.append(b);
      }
      ul.append(li);
    }
    ul.dataset.count = String(this.people.length);
  }
}
