"""The GraphiQL page served to browsers at the GraphQL endpoint, all of it from this host."""

from html import escape

# Paths inside node_modules (pinned in package.json). They are the only files served under the
# assets mount, so a new script or stylesheet must be listed here to be reachable.
STYLESHEETS = (
    "graphiql/graphiql.min.css",
    "@graphiql/plugin-explorer/dist/style.css",
)
SCRIPTS = (
    "react/umd/react.production.min.js",
    "react-dom/umd/react-dom.production.min.js",
    "graphql-ws/umd/graphql-ws.min.js",
    "graphiql/graphiql.min.js",
    # After graphiql: the explorer's browser build reads window.GraphiQL.
    "@graphiql/plugin-explorer/dist/index.umd.js",
)
ASSET_FILES = frozenset(STYLESHEETS + SCRIPTS)

_PAGE = """<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <title>Cairn GraphiQL</title>
    <style>
      body { margin: 0; height: 100vh; overflow: hidden; }
      #graphiql { height: 100vh; }
    </style>
__STYLESHEETS__
  </head>
  <body>
    <div id="graphiql">Loading GraphiQL...</div>
__SCRIPTS__
    <script>
      const DEFAULT_QUERY = `# Welcome to Cairn: learning events in; progress, skill
# mastery, streaks, achievements and dashboards out.
#
# Docs (top left) describes every type; Explorer builds
# queries by ticking fields. Ctrl-Space completes,
# Ctrl-Enter runs. Queries and mutations go over HTTP,
# subscriptions (live achievement unlocks) over a
# WebSocket to this same URL.
#
# Sign in: open the Headers tab below and paste
#   {"Authorization": "Bearer <token>"}
# "make run" prints a token for each demo user (demo-ada,
# demo-parent, demo-educator, demo-admin); others come from
#   python main.py token --subject ID --role ROLE
# Without one, only the docs and __typename answer. Then try
#   { viewer { userId roles unreadNotificationCount } }
# as demo-parent:  { parentDashboard { children {
#   learner { displayName } minutes goal { met percent } } } }
# and, live:  subscription { notificationReceived { title } }
{
  __typename
}
`;

      // Where this page was loaded from is the endpoint, even behind a proxy that adds a prefix.
      const httpUrl = new URL(window.location.pathname, window.location.href);
      const wsUrl = new URL(httpUrl);
      wsUrl.protocol = httpUrl.protocol === "https:" ? "wss:" : "ws:";

      // HTTP requests carry the Headers tab as headers; a WebSocket carries its Authorization
      // in connection_init, so the socket is opened again when that header changes.
      let socket = null;
      let socketAuthorization = null;
      function socketFor(headers) {
        const authorization = (headers && (headers.Authorization || headers.authorization)) || null;
        if (socket === null || authorization !== socketAuthorization) {
          if (socket !== null) socket.dispose();
          socketAuthorization = authorization;
          socket = graphqlWs.createClient({
            url: wsUrl.toString(),
            lazy: true,
            connectionParams: authorization ? { Authorization: authorization } : {},
          });
        }
        return socket;
      }
      const fetcher = (params, options) =>
        GraphiQL.createFetcher({
          url: httpUrl.toString(),
          wsClient: socketFor(options && options.headers),
        })(params, options);

      ReactDOM.createRoot(document.getElementById("graphiql")).render(
        React.createElement(GraphiQL, {
          fetcher,
          defaultQuery: DEFAULT_QUERY,
          plugins: [GraphiQLPluginExplorer.explorerPlugin()],
          isHeadersEditorEnabled: true,
          // Headers often hold tokens: keep them out of localStorage.
          shouldPersistHeaders: false,
          defaultEditorToolsVisibility: true,
          inputValueDeprecation: true,
        }),
      );
    </script>
  </body>
</html>
"""


def render_page(*, assets_url: str) -> str:
    """The page, loading every asset from `assets_url` (the URL path of the assets mount)."""
    base = escape(assets_url.rstrip("/"), quote=True)
    stylesheets = "\n".join(
        f'    <link rel="stylesheet" href="{base}/{name}" />' for name in STYLESHEETS
    )
    scripts = "\n".join(f'    <script src="{base}/{name}"></script>' for name in SCRIPTS)
    return _PAGE.replace("__STYLESHEETS__", stylesheets).replace("__SCRIPTS__", scripts)
