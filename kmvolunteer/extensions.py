"""Flask extensions, created unbound and initialised in create_app()."""

from collections.abc import Callable
from typing import Any

from flask import has_request_context, request
from flask_babel import Babel
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_sqlalchemy.pagination import Pagination, SelectPagination
from flask_wtf import CSRFProtect
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

from kmvolunteer.core.text import parse_page

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class RowPagination(SelectPagination):
    """A page of rows of plain columns (a SelectPagination keeps only each row's first column), each made
    into ``row`` (a NamedTuple's ``_make``, say), with no count: the caller counts (and sets ``total``)."""

    def _query_items(self) -> list[Any]:
        select = self._query_args["select"].limit(self.per_page).offset(self._query_offset)
        return [self._query_args["row"](values) for values in self._query_args["session"].execute(select)]


def _page() -> int:
    """Every list's ?page= goes through parse_page: ?page=99999999999999999999 is page 1, not an OFFSET
    the database cannot hold."""
    return parse_page(request.args.get("page")) if has_request_context() else 1


class _SQLAlchemy(SQLAlchemy):
    def paginate(self, select: Any, *, page: int | None = None, **kwargs: Any) -> Pagination:
        return super().paginate(select, page=_page() if page is None else page, **kwargs)

    def paginate_rows(self, select: Any, *, row: Callable[[Any], Any], per_page: int) -> RowPagination:
        """A page of ``select``'s rows, of columns rather than objects, for ?page=."""
        return RowPagination(
            select=select,
            session=self.session(),
            row=row,
            page=_page(),
            per_page=per_page,
            error_out=False,
            count=False,
        )


db = _SQLAlchemy(model_class=Base)
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()
