"""Interfaces stay thin: the API's handlers, the pages, the Stripe webhook and the background
tasks call services and selectors; they never query the database themselves.

Each module is parsed (not imported) and every reference to a model manager (`.objects`), a
queryset method, an ORM expression (`Q`, `F`, `Prefetch`…) or a shortcut that queries
(`get_object_or_404`) is reported with its line. What an interface needs to read or write
belongs in the selectors or services of the app that owns the model.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parent.parent / "src" / "cadence"

# The api app owns API tokens: its own selectors, services and models are not interfaces.
_API_OWN = {"selectors.py", "services.py", "models.py", "apps.py", "__init__.py"}

# Handlers, views and pages that read and write only through services and selectors: no
# model manager, no queryset method, no ORM expression, but for the allowances below.
INTERFACES = sorted(
    [p for p in (SRC / "api").glob("*.py") if p.name not in _API_OWN]
    + [SRC / "web" / "views.py", SRC / "web" / "buyer_views.py"]
    + [p for p in (SRC / "web" / "manage").glob("*.py") if p.name != "__init__.py"]
    + [SRC / "payments" / "views.py", SRC / "payments" / "webhooks.py"]
    # Background tasks load by id and call one service.
    + [SRC / "subscriptions" / "tasks.py", SRC / "notifications" / "tasks.py"]
)

# Methods only a queryset (or a model manager) has; `values`, `get`, `count`, `update` are
# left out because dicts and lists have them too.
QUERYSET_METHODS = {
    "aggregate",
    "alias",
    "annotate",
    "bulk_create",
    "bulk_update",
    "defer",
    "distinct",
    "exclude",
    "exists",
    "filter",
    "get_or_create",
    "only",
    "order_by",
    "prefetch_related",
    "select_for_update",
    "select_related",
    "update_or_create",
    "values_list",
}
ORM_NAMES = {
    "Q",
    "F",
    "Prefetch",
    "Subquery",
    "OuterRef",
    "Exists",
    "get_object_or_404",
    "get_list_or_404",
}

# (module relative to src/cadence, line text fragment) → why it is an interface concern.
SORTS_FROM_THE_QUERY_STRING = (
    "a list's column sorted as the query string asks (nulls last): django-tables2 hands the "
    "selector's rows to the table's `order_…` method"
)
ALLOWED: dict[tuple[str, str], str] = {
    ("web/manage/access.py", "queryset.filter(pk=pk, **{shop_field: shop})"): (
        "`get_for_shop`, the back office's access rule: a selector's row, only if it belongs "
        "to the shop in the URL (404 otherwise)"
    ),
    ("web/manage/orders.py", "queryset.filter(short_lines"): (
        "a django-filter method narrowing the selector's rows (annotated with `short_lines` "
        "by `orders_of_cycle`) to what the query string asks"
    ),
    ("web/manage/schedules.py", "from django.db.models import F"): SORTS_FROM_THE_QUERY_STRING,
    ("web/manage/schedules.py", 'F("next_opens_at")'): SORTS_FROM_THE_QUERY_STRING,
    ("web/manage/schedules.py", "queryset.order_by(order,"): SORTS_FROM_THE_QUERY_STRING,
    ("web/manage/subscriptions.py", "from django.db.models import F"): SORTS_FROM_THE_QUERY_STRING,
    ("web/manage/subscriptions.py", "F(field)"): SORTS_FROM_THE_QUERY_STRING,
    ("web/manage/subscriptions.py", "queryset.order_by(value,"): SORTS_FROM_THE_QUERY_STRING,
    ("web/manage/subscriptions.py", "TableColumns.objects"): (
        "the columns a manager chose to see: the page's own preference, kept by the web "
        "app's model and its manager"
    ),
    ("web/manage/subscriptions.py", "Schedule.objects.none()"): (
        "the placeholder a filter is declared with (no query); each request puts the shop's "
        "schedules from `schedules_for_shop` in its place"
    ),
}


def _rel(path: Path) -> str:
    return path.relative_to(SRC).as_posix() if path.is_relative_to(SRC) else path.name


def orm_uses(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    lines = path.read_text(encoding="utf-8").splitlines()
    found = []
    for node in ast.walk(tree):
        what = None
        if isinstance(node, ast.Attribute) and node.attr == "objects":
            what = ".objects"
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in QUERYSET_METHODS
        ):
            what = f".{node.func.attr}()"
        elif isinstance(node, ast.Name) and node.id in ORM_NAMES:
            what = node.id
        elif isinstance(node, ast.ImportFrom) and node.module in ("django.db.models",):
            names = {a.name for a in node.names} & ORM_NAMES
            what = f"import {', '.join(sorted(names))}" if names else None
        if what is None:
            continue
        text = lines[node.lineno - 1].strip()
        if any(_rel(path) == mod and frag in text for (mod, frag) in ALLOWED):
            continue
        found.append(f"{_rel(path)}:{node.lineno}: {what}  ({text})")
    return found


MOVE_IT = (
    "an interface queries the ORM; move it to a selector (read) or service (write) of the app "
    "that owns the model"
)


@pytest.mark.parametrize("path", INTERFACES, ids=_rel)
def test_interfaces_do_not_query_the_orm(path):
    assert orm_uses(path) == [], MOVE_IT


def test_every_allowance_is_still_needed():
    """An allowance whose line is gone is removed, so the list only says what is true."""
    for module, fragment in ALLOWED:
        assert fragment in (SRC / module).read_text(encoding="utf-8"), (module, fragment)


def test_the_check_sees_what_it_looks_for(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text(
        "from django.db.models import Q\n"
        "a = Order.objects.all()\n"
        "b = shop.customers.filter(x=1)\n"
        "c = {}.get('x')\n"
        "d = get_object_or_404(Order, pk=1)\n"
    )
    whats = [found.split(": ", 1)[1].split("  ")[0] for found in orm_uses(sample)]
    assert sorted(whats) == sorted(["import Q", ".objects", ".filter()", "get_object_or_404"])


# Dependencies run one way: subscriptions orchestrate orders and payments, which never reach
# back into subscriptions (they tell it through hooks instead).
NEVER_IMPORTS = {"payments": "cadence.subscriptions", "orders": "cadence.subscriptions"}


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
    return names


@pytest.mark.parametrize("app", sorted(NEVER_IMPORTS))
def test_apps_do_not_reach_back_into_subscriptions(app):
    forbidden = NEVER_IMPORTS[app]
    offenders = [
        f"{_rel(path)} imports {name}"
        for path in sorted((SRC / app).rglob("*.py"))
        for name in sorted(_imports(path))
        if name == forbidden or name.startswith(forbidden + ".")
    ]
    assert offenders == []


# --- the test suite's own layout ------------------------------------------------------------
# Tests mirror the source tree: the tests of src/cadence/<app>/<module>.py are in
# tests/<app>/test_<module>.py (or tests/<app>/test_<module>_<aspect>.py when a module has
# several), and the builders, fixtures and worker processes they share live in tests/support,
# the only part of the suite a test module (or a conftest) imports from.

TESTS = Path(__file__).resolve().parent

# Suites that test a package or the whole product rather than one module, with why.
CROSS_CUTTING: dict[str, str] = {
    "tests/test_architecture.py": "the layering of src/cadence and of this suite",
    "tests/api/test_authorization_matrix.py": "who may call every API route",
    "tests/api/test_conventions.py": "conventions every API route follows",
    "tests/api/test_edges.py": "the API's answers at the edges of every route",
    "tests/api/test_input_strictness.py": "every API route's refusal of unknown input",
    "tests/api/test_schemathesis.py": "the API against its OpenAPI schema",
    "tests/api/test_tenant_names.py": "every API route's tenant isolation",
    "tests/e2e/": "browser and contract scenarios across the apps",
    "tests/web/test_admin.py": "the admin pages of every app",
    "tests/web/test_browser.py": "the account page in a real browser",
    "tests/web/test_security.py": "throttling, request ids and CSP across the site",
}


def _module_of(path: Path, root: Path) -> str:
    parts = path.relative_to(root.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imported_modules(path: Path, root: Path) -> set[str]:
    """Every module `path` imports (`from a import b` counts `a` and `a.b`), relative imports
    resolved against `path`'s package under `root`."""
    package = _module_of(path, root).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package[: len(package) - (node.level - 1)]
                base = ".".join([*up, base] if base else up)
            names.add(base)
            names.update(f"{base}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
    return names


def imports_outside_support(root: Path) -> list[str]:
    """`file imports module` for every import of `tests.<x>` other than tests.support."""
    top, support = root.name, f"{root.name}.support"
    return [
        f"{path.relative_to(root.parent).as_posix()} imports {name}"
        for path in sorted(root.rglob("*.py"))
        for name in sorted(_imported_modules(path, root))
        if name.startswith(f"{top}.") and not (name == support or name.startswith(f"{support}."))
    ]


def unmirrored_tests(root: Path, src: Path, cross_cutting) -> list[str]:
    """The test modules under `root` whose name matches no source module: test_<name>.py in
    tests/<dirs> needs src/cadence/<dirs>/<name>.py, or <name> = <module>_<aspect>."""
    missing = []
    for path in sorted(root.rglob("test_*.py")):
        rel = path.relative_to(root.parent).as_posix()
        if any(rel == allowed or rel.startswith(allowed) for allowed in cross_cutting):
            continue
        if path.relative_to(root).parts[0] == "support":
            continue
        where = src.joinpath(*path.relative_to(root).parts[:-1])
        words = path.stem.removeprefix("test_").split("_")
        if not any(
            (where / ("_".join(words[:n]) + ".py")).is_file() for n in range(1, 1 + len(words))
        ):
            missing.append(f"{rel}: no {where.relative_to(src.parent).as_posix()}/<module>.py")
    return missing


def test_test_modules_import_only_from_tests_support():
    """A builder or fixture two test modules need lives in tests/support, never in a test
    module or a conftest that another one imports."""
    assert imports_outside_support(TESTS) == [], "move the shared helper to tests/support"


def test_every_test_module_mirrors_a_source_module():
    """A newcomer finds the tests of src/cadence/X/Y.py at tests/X/test_Y.py."""
    assert unmirrored_tests(TESTS, SRC, CROSS_CUTTING) == [], (
        "name the test module after the source module it tests (test_<module>.py or "
        "test_<module>_<aspect>.py, in the mirrored directory), or list a cross-cutting suite "
        "in CROSS_CUTTING with why"
    )


def test_every_cross_cutting_suite_still_exists():
    for allowed in CROSS_CUTTING:
        assert (TESTS.parent / allowed).exists(), allowed


def test_every_test_directory_is_a_package():
    """The suite imports by package (`tests.support…`, `python -m tests.support.workers…`)."""
    assert [
        d.relative_to(TESTS.parent).as_posix()
        for d in sorted({p.parent for p in TESTS.rglob("*.py")})
        if not (d / "__init__.py").is_file()
    ] == []


def test_the_layout_checks_see_what_they_look_for(tmp_path):
    root, src = tmp_path / "tests", tmp_path / "cadence"
    for name in [
        "shop/services.py",
        "shop/gateways/card.py",
    ]:
        (src / name).parent.mkdir(parents=True, exist_ok=True)
        (src / name).write_text("")
    files = {
        "support/builders.py": "from tests.support import factories\nfrom . import other\n",
        "support/other.py": "",
        "shop/test_services.py": "from tests.support.builders import shop\n",
        "shop/test_services_refunds.py": "from tests.shop.test_services import helper\n",
        "shop/conftest.py": "from tests import factories\n",
        "shop/gateways/test_card.py": "from ..test_services import helper\n",
        "shop/test_service.py": "import tests.other.conftest\n",
        "shop/test_views.py": "",
        "whole/test_anything.py": "",
    }
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)

    assert imports_outside_support(root) == [
        "tests/shop/conftest.py imports tests.factories",
        "tests/shop/gateways/test_card.py imports tests.shop.test_services",
        "tests/shop/gateways/test_card.py imports tests.shop.test_services.helper",
        "tests/shop/test_service.py imports tests.other.conftest",
        "tests/shop/test_services_refunds.py imports tests.shop.test_services",
        "tests/shop/test_services_refunds.py imports tests.shop.test_services.helper",
    ]
    assert unmirrored_tests(root, src, {"tests/whole/": "why"}) == [
        "tests/shop/test_service.py: no cadence/shop/<module>.py",
        "tests/shop/test_views.py: no cadence/shop/<module>.py",
    ]
