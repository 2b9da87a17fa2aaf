// Starts GraphiQL on the page's #graphiql element. It is a file rather
// than an inline script so the page works under a Content-Security-Policy
// with script-src 'self'.
(function () {
  'use strict';

  var root = document.getElementById('graphiql');
  var endpoint = root.getAttribute('data-endpoint');

  // Sends one operation as GraphQL over HTTP, with the headers typed into
  // the explorer's header editor (for example the Authorization header).
  function fetcher(params, options) {
    var headers = { 'Content-Type': 'application/json', 'Accept': 'application/json' };
    var extra = (options && options.headers) || {};
    Object.keys(extra).forEach(function (name) { headers[name] = extra[name]; });
    return fetch(endpoint, {
      method: 'POST',
      headers: headers,
      body: JSON.stringify(params),
      credentials: 'omit'
    }).then(function (response) { return response.json(); });
  }

  var defaultQuery = [
    '# The API of insights. Open the documentation explorer (the book icon)',
    '# to read every type and field. Operations other than introspection',
    '# need your API key: add it in the Headers tab as',
    '#   {"Authorization": "Bearer ik_..."}',
    '',
    'query Viewer {',
    '  viewer {',
    '    id',
    '    name',
    '    allowedClaims',
    '  }',
    '}',
    ''
  ].join('\n');

  ReactDOM.createRoot(root).render(React.createElement(GraphiQL, {
    fetcher: fetcher,
    defaultQuery: defaultQuery,
    isHeadersEditorEnabled: true,
    shouldPersistHeaders: false
  }));
})();
