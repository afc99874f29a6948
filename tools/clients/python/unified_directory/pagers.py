"""Pagers: a List* call's records across every page, as google-cloud-python
lists them:

    for user in client.list_users(account, query="ann"):
        ...
    for page in client.list_users(account).pages:
        print(len(page.result), page.next_cursor)
"""


class Pager:
    """Iterates the records of a paged List* call, fetching each page when
    the one before is used up; `pages` iterates the answers themselves.
    Each page is one unary call, with the client's retries."""

    def __init__(self, fetch, request):
        self._fetch = fetch
        self._request = type(request).FromString(request.SerializeToString())

    @property
    def pages(self):
        """Each answer ({result, next_cursor, ...}), in order."""
        request = type(self._request).FromString(
            self._request.SerializeToString())
        while True:
            page = self._fetch(request)
            yield page
            if not page.next_cursor:
                return
            request.cursor = page.next_cursor

    def __iter__(self):
        for page in self.pages:
            yield from page.result
