"""The API's pagination. Lists page by number with a count (DefaultPagination); a list too long to
count on every request (the outcome events: millions of rows, each checked for visibility) pages by
cursor instead: next and previous links, no count and no page numbers, every page one index range."""

from rest_framework.pagination import CursorPagination, PageNumberPagination


class DefaultPagination(PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = 500


class NewestFirstCursorPagination(CursorPagination):
    """Newest first by `occurred_at` then id, pages of `page_size` (50; ?page_size= up to 500) linked
    by opaque cursors: a page costs the rows it shows, wherever it is, never a COUNT(*) of the list."""

    ordering = ("-occurred_at", "-id")
    page_size_query_param = "page_size"
    max_page_size = 500
