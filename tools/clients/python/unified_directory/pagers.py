"""Pagers: a List* call's records across every page, as google-cloud-python
lists them:

    for user in client.list_users(account, query="ann"):
        ...
    for page in client.list_users(account).pages:
        print(len(page.result), page.next_cursor)
"""

from unified_directory.calls import copy_message, next_page


class Pager:
    """Iterates the records of a paged List* call, fetching each page when
    the one before is used up; `pages` iterates the answers themselves.
    Each page is one unary call, with the client's retries."""

    def __init__(self, fetch, request):
        self._fetch = fetch
        self._request = copy_message(request)

    @property
    def pages(self):
        """Each answer ({result, next_cursor, ...}), in order."""
        request = copy_message(self._request)
        while True:
            page = self._fetch(request)
            yield page
            if not next_page(request, page):
                return

    def __iter__(self):
        for page in self.pages:
            yield from page.result
