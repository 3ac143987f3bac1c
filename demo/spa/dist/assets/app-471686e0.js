/* webstack demo SPA: a tiny client-side router. CloudFront answers every deep link (/users/42) with
   /index.html and status 200; this script then renders the route from location.pathname. */
(function () {
  "use strict";
  var users = [
    { id: 1, name: "Ada Lovelace", role: "Analyst" },
    { id: 7, name: "Grace Hopper", role: "Compiler engineer" },
    { id: 42, name: "Alan Turing", role: "Mathematician" }
  ];

  function esc(text) {
    return String(text).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }

  var routes = [
    { pattern: /^\/$/, render: function () {
      return "<h1>webstack</h1><p>A React-style single-page app served from a private S3 bucket " +
        "through CloudFront. Every path below is rendered in the browser.</p>" +
        '<p><a href="/users" data-link>Users</a></p>';
    } },
    { pattern: /^\/users\/?$/, render: function () {
      return "<h1>Users</h1><ul>" + users.map(function (u) {
        return '<li><a href="/users/' + u.id + '" data-link>' + esc(u.name) + "</a></li>";
      }).join("") + "</ul>";
    } },
    { pattern: /^\/users\/(\d+)\/?$/, render: function (match) {
      var user = users.filter(function (u) { return String(u.id) === match[1]; })[0];
      if (!user) { return notFound(); }
      return "<h1>" + esc(user.name) + "</h1><p>User #" + user.id + ", " + esc(user.role) + ".</p>" +
        '<p><a href="/users" data-link>All users</a></p>';
    } }
  ];

  function notFound() {
    document.title = "Not found - webstack";
    return "<h1>Not found</h1><p>No page at " + esc(location.pathname) + '.</p><p><a href="/" data-link>Home</a></p>';
  }

  function render() {
    var path = location.pathname;
    var html = null;
    for (var i = 0; i < routes.length && html === null; i++) {
      var match = routes[i].pattern.exec(path);
      if (match) { document.title = "webstack"; html = routes[i].render(match); }
    }
    document.getElementById("root").innerHTML = html === null ? notFound() : html;
  }

  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest("a[data-link]");
    if (!link || event.metaKey || event.ctrlKey || event.shiftKey) { return; }
    event.preventDefault();
    history.pushState(null, "", link.getAttribute("href"));
    render();
  });
  window.addEventListener("popstate", render);
  render();
})();
