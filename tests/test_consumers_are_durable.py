"""Every consumer is a durable consumer made through the shared one (issue 6, acceptance 3).

What is checked, with the ast of every module of ``services/*/comitas_*/`` and ``shared/comitas_shared/``:

- a NATS subscription or JetStream consumer (``subscribe``, ``pull_subscribe``, ``add_consumer``… of
  nats-py, however the receiver was imported or aliased, also taken as a value or through ``getattr``)
  is made only in the places listed in ``ALLOWED_SUBSCRIPTIONS``, each with its reason; every consumer
  configuration names a durable, except the token deny-list's follower (``follow_subject``);
- consumers are built in a feature's ``consumers.py`` from the shared ``DurableConsumer`` (or
  ``event_consumer``), and no module outside ``shared/comitas_shared/events/consumer.py`` subclasses
  the shared classes or runs their loop (fetch, ack, nak, term);
- a consumer of catalogue events declares ``EventType → typed handler`` with ``EventDispatcher`` (or
  ``BatchDispatcher`` for one transaction per fetched batch): each
  route names a member of the catalogue, and its handler's payload parameter is that type's ``EventData``
  class. Only consumers that are not one catalogue type each use ``DurableConsumer`` directly: a fan-out
  over every event (``events.>``) or messages of another stream with their own decoder (fired reminders).

The tests at the end show the checker can fail: aliased direct subscriptions and each other rule's
violation, in a source string, are reported (and names that only look like nats-py's are not). ADR 0003 says why the inbox and the explicit ack matter; the shared
module's docstring (``comitas_shared.events.consumer``) says what the two layers do.
"""

from __future__ import annotations

import ast
import functools
import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from nats.js.api import AckPolicy

from comitas_shared.events import catalogue
from comitas_shared.events.catalogue import EventType
from comitas_shared.events.consumer import DurableConsumer, decode_cloudevent

ROOT = Path(__file__).resolve().parent.parent
SHARED_CONSUMER_FILE = "shared/comitas_shared/events/consumer.py"
CONSUMER_MODULE = "comitas_shared.events.consumer"
CATALOGUE_MODULE = "comitas_shared.events.catalogue"
SHARED_CLASSES = {f"{CONSUMER_MODULE}.{name}"
                  for name in ("DurableConsumer", "EventConsumer", "EventDispatcher", "BatchDispatcher")}
# Calling these makes a durable consumer (EventConsumer is DurableConsumer[CloudEvent]).
CONSTRUCTORS = {f"{CONSUMER_MODULE}.{name}" for name in ("DurableConsumer", "EventConsumer")}
# The consumers of a dispatcher's catalogue events: one event per transaction, or one fetched batch.
EVENT_CONSUMERS = {f"{CONSUMER_MODULE}.{name}" for name in ("event_consumer", "batch_event_consumer")}
DISPATCHERS = {f"{CONSUMER_MODULE}.{name}" for name in ("EventDispatcher", "BatchDispatcher")}
DECODE_CLOUDEVENT = f"{CONSUMER_MODULE}.decode_cloudevent"
FOLLOW_SUBJECT = f"{CONSUMER_MODULE}.follow_subject"
EVENTS_STREAM_NAMES = {"comitas_shared.events.nats.EVENTS_STREAM"}
CONSUMER_CONFIG = "nats.js.api.ConsumerConfig"
# The subject of every catalogue event: a consumer of all of them is a fan-out, not one type each.
EVERY_EVENT = "events.>"

# nats-py's calls that make a subscription or a JetStream consumer (JetStreamContext, JetStreamManager,
# the core client, KeyValue and ObjectStore watchers). Request/reply (``request``) is not a consumer.
SUBSCRIBE_API = {"subscribe", "subscribe_bind", "pull_subscribe", "pull_subscribe_bind", "add_consumer",
                 "watch", "watchall"}
# What only the shared consumer's loop does with a subscription and its messages.
LOOP_API = {"fetch", "ack", "ack_sync", "nak", "term", "in_progress"}

# (file, call) → why it may make a subscription or consumer itself. Every entry must still be in use.
ALLOWED_SUBSCRIPTIONS: dict[tuple[str, str], str] = {
    (SHARED_CONSUMER_FILE, "add_consumer"):
        "DurableConsumer creates its durable consumer (durable_name = its name, explicit ack)",
    (SHARED_CONSUMER_FILE, "pull_subscribe_bind"):
        "DurableConsumer: each worker binds a pull subscription of its own to that durable",
    (SHARED_CONSUMER_FILE, "pull_subscribe"):
        "follow_subject: the token deny-list, which every replica must read in full (a durable would share "
        "the revocations out between replicas); an ephemeral consumer recreated from the last sequence",
    ("services/notifications/comitas_notifications/feeds/broker.py", "add_consumer"):
        "the platform-owned durable push consumer of each member organisation's feed (ADR 0033): the "
        "institution's own connection reads it on its deliver subject, Comitas never does, so there is "
        "nothing for DurableConsumer (a pull consumer that handles messages here) to handle",
}
# Where the loop's calls may be made: the shared consumer itself.
LOOP_ALLOWED = {SHARED_CONSUMER_FILE}
# Functions whose consumer configuration names no durable, and why.
NON_DURABLE_ALLOWED = {(SHARED_CONSUMER_FILE, "follow_subject"): "the deny-list follower (see above)"}
# The only caller of follow_subject: the platform's token deny-list.
FOLLOW_SUBJECT_CALLERS = {"shared/comitas_shared/app.py"}


@dataclass(frozen=True)
class Finding:
    rule: str
    line: int
    detail: str


def scanned_files() -> list[Path]:
    """Every module of the shared library and of each service's package (not their tests)."""
    files = sorted((ROOT / "shared" / "comitas_shared").rglob("*.py"))
    for package in sorted((ROOT / "services").glob("*/comitas_*")):
        files += sorted(package.rglob("*.py"))
    return [p for p in files if "tests" not in p.relative_to(ROOT).parts]


def package_of(relative: str) -> list[str]:
    """``services/intake/comitas_intake/complaints/consumers.py`` → ``comitas_intake.complaints``, split:
    where the module's relative imports start from."""
    parts = list(Path(relative).with_suffix("").parts)
    start = next(i for i, part in enumerate(parts) if part.startswith("comitas_"))
    return parts[start:-1]


def module_file(dotted: str) -> Path | None:
    """``comitas_intake.complaints.service`` → its file (module or package), if it is one of ours."""
    parts = dotted.split(".")
    if parts[0] == "comitas_shared":
        folder = ROOT / "shared"
    elif parts[0].startswith("comitas_") and (ROOT / "services" / parts[0].removeprefix("comitas_")).is_dir():
        folder = ROOT / "services" / parts[0].removeprefix("comitas_")
    else:
        return None
    path = folder.joinpath(*parts)
    for candidate in (path.with_suffix(".py"), path / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


class Names:
    """What each name of a module stands for, as a dotted name: imports (relative ones resolved, aliases
    followed) and simple assignments of an imported thing (``Base = DurableConsumer``)."""

    def __init__(self, nodes: list[ast.AST], relative: str) -> None:
        package = package_of(relative)
        self.bound: dict[str, str] = {}
        for node in nodes:
            if isinstance(node, ast.Import):
                for alias in node.names:
                    top = alias.name.split(".")[0]
                    self.bound[alias.asname or top] = alias.name if alias.asname else top
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package[: len(package) - (node.level - 1)]
                    source = ".".join([*base, *([node.module] if node.module else [])])
                else:
                    source = node.module or ""
                for alias in node.names:
                    self.bound[alias.asname or alias.name] = f"{source}.{alias.name}"
        assigns = [n for n in nodes if isinstance(n, ast.Assign) and len(n.targets) == 1
                   and isinstance(n.targets[0], ast.Name)]
        for _ in range(2):  # an alias of an alias
            for node in assigns:
                target = self.qualify(node.value)
                if target is not None and isinstance(node.targets[0], ast.Name):
                    self.bound.setdefault(node.targets[0].id, target)

    def qualify(self, node: ast.expr) -> str | None:
        if isinstance(node, ast.Name):
            return self.bound.get(node.id)
        if isinstance(node, ast.Attribute):
            base = self.qualify(node.value)
            return f"{base}.{node.attr}" if base else None
        if isinstance(node, ast.Subscript):  # DurableConsumer[CloudEvent]
            return self.qualify(node.value)
        return None

    def is_our_module(self, node: ast.expr) -> bool:
        """A receiver that is one of our own modules (``service.subscribe``: a feature's function;
        whatever it does with NATS is checked in that module). An object imported from one is not."""
        name = self.qualify(node) if isinstance(node, ast.Name) else None
        return name is not None and module_file(name) is not None

    def touches_nats(self) -> bool:
        """Whether the module imports nats-py or the shared events' NATS side."""
        return any(v == "nats" or v.startswith(("nats.", CONSUMER_MODULE, "comitas_shared.events.nats"))
                   for v in self.bound.values())


@dataclass(frozen=True)
class Module:
    relative: str
    tree: ast.Module
    nodes: list[ast.AST]
    names: Names
    # Attribute nodes that are ``self.x``/``cls.x`` of a member its own class declares (a dataclass
    # field called ``subscribe`` is not nats-py's).
    own_members: frozenset[int]


@functools.cache
def load(source: str, relative: str) -> Module:
    tree = ast.parse(source, filename=relative)
    nodes = list(ast.walk(tree))
    own: set[int] = set()
    for cls in (n for n in nodes if isinstance(n, ast.ClassDef)):
        members = {t.id for n in cls.body if isinstance(n, ast.Assign) for t in n.targets if isinstance(t, ast.Name)}
        members |= {n.target.id for n in cls.body if isinstance(n, ast.AnnAssign) and isinstance(n.target, ast.Name)}
        members |= {n.name for n in cls.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)}
        own |= {id(n) for n in ast.walk(cls) if isinstance(n, ast.Attribute) and n.attr in members
                and isinstance(n.value, ast.Name) and n.value.id in {"self", "cls"}}
    return Module(relative, tree, nodes, Names(nodes, relative), frozenset(own))


def mentions(source: str, words: set[str] | tuple[str, ...]) -> bool:
    """A cheap first look: a module whose text has none of ``words`` (as whole words) cannot break the
    rule (every name a rule looks for is written in the module, however it is aliased)."""
    return re.search(rf"\b(?:{'|'.join(sorted(words))})\b", source) is not None


def enclosing_function(module: Module, line: int) -> str | None:
    """The innermost function around ``line`` (the one spanning the fewest lines)."""
    around = [(node.end_lineno - node.lineno, node.name) for node in module.nodes
              if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.end_lineno is not None
              and node.lineno <= line <= node.end_lineno]
    return min(around)[1] if around else None


def attribute_uses(module: Module, api: set[str]) -> Iterator[tuple[int, str]]:
    """``x.<api>`` (called or taken as a value) on anything but our own modules and a class's own
    members, and ``getattr(x, "<api>")``."""
    for node in module.nodes:
        if (isinstance(node, ast.Attribute) and node.attr in api and id(node) not in module.own_members
                and not module.names.is_our_module(node.value)):
            yield node.lineno, node.attr
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "getattr"
              and len(node.args) >= 2 and isinstance(node.args[1], ast.Constant)
              and node.args[1].value in api):
            yield node.lineno, str(node.args[1].value)


# --- the rules, each on one module's source ---------------------------------------------------------


def subscriptions(source: str, relative: str) -> list[Finding]:
    """Every subscription or consumer made in the module, allowed or not."""
    if not mentions(source, SUBSCRIBE_API):
        return []
    return [Finding("subscription", line, f"{call} made directly")
            for line, call in attribute_uses(load(source, relative), SUBSCRIBE_API)]


def subscription_violations(source: str, relative: str) -> list[Finding]:
    return [f for f in subscriptions(source, relative)
            if (relative, f.detail.split()[0]) not in ALLOWED_SUBSCRIPTIONS]


def loop_violations(source: str, relative: str) -> list[Finding]:
    """The shared loop's calls (fetch, ack, nak, term…) in a module that touches NATS, outside the shared
    consumer: a copy of its loop. (A module that imports nothing of NATS has no message to ack: its
    ``acts.term`` is a vocabulary's.)"""
    if relative in LOOP_ALLOWED or not mentions(source, LOOP_API) or not mentions(source, ("nats", "consumer")):
        return []
    module = load(source, relative)
    if not module.names.touches_nats():
        return []
    return [Finding("loop", line, f"{call} outside the shared consumer: a copy of its loop")
            for line, call in attribute_uses(module, LOOP_API)]


def subclass_violations(source: str, relative: str) -> list[Finding]:
    """A class built on DurableConsumer, EventConsumer or EventDispatcher outside the shared module."""
    if relative == SHARED_CONSUMER_FILE or not mentions(source, ("consumer",)):
        return []
    module = load(source, relative)
    return [Finding("subclass", node.lineno, f"class {node.name} subclasses {module.names.qualify(base)}")
            for node in module.nodes if isinstance(node, ast.ClassDef)
            for base in node.bases if module.names.qualify(base) in SHARED_CLASSES]


def non_durable_configs(source: str, relative: str) -> list[Finding]:
    """A ConsumerConfig without ``durable_name``, outside the listed function."""
    if not mentions(source, ("ConsumerConfig",)):
        return []
    module = load(source, relative)
    found = []
    for node in module.nodes:
        if isinstance(node, ast.Call) and module.names.qualify(node.func) == CONSUMER_CONFIG:
            if any(k.arg == "durable_name" for k in node.keywords):
                continue
            if (relative, enclosing_function(module, node.lineno)) in NON_DURABLE_ALLOWED:
                continue
            found.append(Finding("durable", node.lineno, "a ConsumerConfig with no durable_name"))
    return found


def follow_subject_uses(source: str, relative: str) -> list[Finding]:
    """Uses of follow_subject (the one non-durable consumer) outside the shared module."""
    if relative == SHARED_CONSUMER_FILE or not mentions(source, ("follow_subject",)):
        return []
    module = load(source, relative)
    return [Finding("follow_subject", node.lineno, "follow_subject (an ephemeral consumer)")
            for node in module.nodes
            if isinstance(node, ast.Name | ast.Attribute) and isinstance(node.ctx, ast.Load)
            and module.names.qualify(node) == FOLLOW_SUBJECT]


@dataclass(frozen=True)
class Built:
    """One consumer built in a module: where, by what, and its durable name if it is a constant."""

    line: int
    call: ast.Call
    how: str  # "DurableConsumer" or "event_consumer"
    name: str | None


def consumers_built(source: str, relative: str) -> list[Built]:
    if relative == SHARED_CONSUMER_FILE or not mentions(source, ("consumer",)):
        return []
    module = load(source, relative)
    values = {node.targets[0].id: node.value.value for node in module.tree.body
              if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)
              and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)}
    built = []
    for node in module.nodes:
        if not isinstance(node, ast.Call):
            continue
        target = module.names.qualify(node.func)
        if target in CONSTRUCTORS or target in EVENT_CONSUMERS:
            name = next((k.value for k in node.keywords if k.arg == "name"), None)
            durable = (name.value if isinstance(name, ast.Constant) and isinstance(name.value, str)
                       else values.get(name.id) if isinstance(name, ast.Name) else None)
            built.append(Built(node.lineno, node, "event_consumer" if target in EVENT_CONSUMERS
                               else "DurableConsumer", durable))
    return built


def placement_violations(source: str, relative: str) -> list[Finding]:
    """Consumers are built in a feature's consumers.py (main.py only wires the factories)."""
    if Path(relative).name == "consumers.py":
        return []
    return [Finding("placement", b.line, f"{b.how} built outside a consumers.py")
            for b in consumers_built(source, relative)]


@functools.cache
def modules_by_name() -> dict[str, Path]:
    """``comitas_notifications.deadlines.service`` → its file, for every scanned module."""
    found = {}
    for path in scanned_files():
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        parts = parts[next(i for i, part in enumerate(parts) if part.startswith("comitas_")):]
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def returns_dispatcher(function: str | None) -> bool:
    """Whether the module-level function named (dotted) is annotated to return a dispatcher: a feature's
    service may declare its routes (``owner_events(clock) -> BatchDispatcher[...]``), checked there."""
    module_name, _, name = (function or "").rpartition(".")
    path = modules_by_name().get(module_name)
    if path is None:
        return False
    module = load(path.read_text(), path.relative_to(ROOT).as_posix())
    return any(isinstance(node, ast.FunctionDef) and node.name == name and node.returns is not None
               and module.names.qualify(node.returns) in DISPATCHERS for node in module.tree.body)


def dispatcher_root(node: ast.expr, names: Names, dispatchers: set[str]) -> bool:
    """Whether ``node`` is ``EventDispatcher()`` (or ``BatchDispatcher(...)``), a chain of ``.on(...)`` on
    it, a name bound to one, or a call of one of our functions that returns one."""
    while isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "on":
        node = node.func.value
    if isinstance(node, ast.Call):
        return names.qualify(node.func) in DISPATCHERS or returns_dispatcher(names.qualify(node.func))
    return isinstance(node, ast.Name) and node.id in dispatchers


def dispatcher_names(module: Module) -> set[str]:
    found: set[str] = set()
    assigns = [n for n in module.nodes if isinstance(n, ast.Assign) and len(n.targets) == 1
               and isinstance(n.targets[0], ast.Name)]
    for _ in range(2):
        for node in assigns:
            if isinstance(node.targets[0], ast.Name) and dispatcher_root(node.value, module.names, found):
                found.add(node.targets[0].id)
    return found


def catalogue_violations(source: str, relative: str) -> list[Finding]:
    """A consumer of catalogue events goes through EventDispatcher; only a fan-out over every event or
    a consumer of another stream with its own decoder uses DurableConsumer directly."""
    built = consumers_built(source, relative)
    if not built:
        return []
    module = load(source, relative)
    names, dispatchers = module.names, dispatcher_names(module)
    found = []
    for consumer in built:
        keywords = {k.arg: k.value for k in consumer.call.keywords if k.arg}
        if consumer.how == "event_consumer":
            dispatcher = keywords.get("dispatcher")
            if dispatcher is None or not dispatcher_root(dispatcher, names, dispatchers):
                found.append(Finding("catalogue", consumer.line, "event_consumer without an EventDispatcher"))
            continue
        subjects = keywords.get("subjects")
        subjects_text = ast.unparse(subjects) if subjects is not None else "no subjects"
        decode = keywords.get("decode")
        if decode is not None and names.qualify(decode) == DECODE_CLOUDEVENT:
            fan_out = (isinstance(subjects, ast.List) and bool(subjects.elts)
                       and all(isinstance(e, ast.Constant) and e.value == EVERY_EVENT for e in subjects.elts))
            handler = keywords.get("handler")
            typed = handler is not None and dispatcher_root(handler, names, dispatchers)
            if not (fan_out or typed):
                found.append(Finding("catalogue", consumer.line,
                                     f"consumes catalogue events ({subjects_text}) with DurableConsumer directly, "
                                     "not EventType → typed handler (EventDispatcher, event_consumer)"))
            continue
        stream = keywords.get("stream")
        on_events = (stream is None or names.qualify(stream) in EVENTS_STREAM_NAMES
                     or (isinstance(stream, ast.Constant) and stream.value == "EVENTS"))
        if on_events:
            found.append(Finding("catalogue", consumer.line,
                                 f"reads the events stream ({subjects_text}) with a decoder of its own"))
    return found


def data_parameter(function: ast.FunctionDef | ast.AsyncFunctionDef) -> ast.expr | None:
    """The annotation of a typed handler's payload: ``(session, data: X, event)``."""
    positional = [*function.args.posonlyargs, *function.args.args]
    return positional[1].annotation if len(positional) >= 2 else None


def route_violations(source: str, relative: str) -> list[Finding]:
    """Each ``.on(event_type, handler)`` of a dispatcher names a member of the catalogue, and its
    handler's payload parameter is annotated with that type's EventData class."""
    if not mentions(source, ("consumer",)):
        return []
    module = load(source, relative)
    names, dispatchers = module.names, dispatcher_names(module)
    handlers = {n.name: n for n in module.nodes if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)}
    found = []
    for route in module.nodes:
        if not (isinstance(route, ast.Call) and isinstance(route.func, ast.Attribute) and route.func.attr == "on"
                and dispatcher_root(route.func.value, names, dispatchers)):
            continue
        if len(route.args) != 2:
            found.append(Finding("route", route.lineno, f"{ast.unparse(route)}: on(event_type, handler)"))
            continue
        event_node, handler_node = route.args
        event_name = names.qualify(event_node) or ""
        module_name, _, member_name = event_name.rpartition(".")
        member = getattr(catalogue, member_name, None) if module_name == CATALOGUE_MODULE else None
        if not isinstance(member, EventType):
            found.append(Finding("route", route.lineno, f"{ast.unparse(event_node)} is not a member of the catalogue"))
            continue
        handler = handlers.get(handler_node.id) if isinstance(handler_node, ast.Name) else None
        annotation = data_parameter(handler) if handler else None
        expected = f"{CATALOGUE_MODULE}.{member.data.__name__}"
        if annotation is None or names.qualify(annotation) != expected:
            found.append(Finding("route", route.lineno, f"{ast.unparse(handler_node)} for {member.type} does not "
                                 f"take its payload as {member.data.__name__}"))
    return found


RULES = (subscription_violations, loop_violations, subclass_violations, non_durable_configs,
         placement_violations, catalogue_violations, route_violations)


def violations(source: str, relative: str) -> list[Finding]:
    """Every rule of this file on one module (the follow_subject rule is checked across modules)."""
    return sorted((f for rule in RULES for f in rule(source, relative)), key=lambda f: (f.line, f.rule))


@functools.cache
def code_base() -> tuple[tuple[str, str], ...]:
    """(path from the repository's root, source) of every scanned module, read once."""
    return tuple((p.relative_to(ROOT).as_posix(), p.read_text()) for p in scanned_files())


def across_code_base(rule: Callable[[str, str], list[Finding]]) -> list[str]:
    return [f"{relative}:{f.line}: {f.detail}" for relative, source in code_base() for f in rule(source, relative)]


# --- the code base ------------------------------------------------------------------------------------


def test_subscriptions_are_made_only_in_the_listed_places():
    """No module subscribes or makes a JetStream consumer with nats-py itself, but the shared consumer
    and the feeds broker, for the reasons in ALLOWED_SUBSCRIPTIONS; and every allowance is still used."""
    assert across_code_base(subscription_violations) == []
    used = {(relative, f.detail.split()[0]) for relative, source in code_base()
            for f in subscriptions(source, relative)}
    assert used == set(ALLOWED_SUBSCRIPTIONS), f"allowances no longer used: {set(ALLOWED_SUBSCRIPTIONS) - used}"


def test_every_consumer_configured_is_durable_but_the_deny_list_follower():
    """Each ConsumerConfig names a durable, except follow_subject's, whose one caller is the platform's
    token deny-list (every replica reads every revocation). And the shared consumer's own configuration
    is durable under the consumer's name, with explicit acks (checked on a real instance)."""
    assert across_code_base(non_durable_configs) == []
    callers = {line.split(":")[0] for line in across_code_base(follow_subject_uses)}
    assert callers == FOLLOW_SUBJECT_CALLERS

    async def handler(session, item) -> None:  # never called: only the configuration is read
        raise AssertionError(item)

    consumer = DurableConsumer(name="probe-durable", subjects=["events.comitas.a", "events.comitas.b"],
                               decode=decode_cloudevent, handler=handler, database=None, tables=None, nats=None)
    config = consumer.config()
    assert (config.durable_name, config.ack_policy, config.filter_subjects) == (
        "probe-durable", AckPolicy.EXPLICIT, ["events.comitas.a", "events.comitas.b"])


def test_consumers_are_built_in_consumers_modules_with_unique_durable_names():
    """Every consumer a service builds is a DurableConsumer (directly or through event_consumer), in a
    feature's consumers.py; each has a constant durable name, and no two share one (a durable's name is
    its position in the stream: two consumers sharing it would split the messages between them)."""
    assert across_code_base(placement_violations) == []
    names: Counter[str] = Counter()
    unnamed = []
    consumers_modules = set()
    for relative, source in code_base():
        built = consumers_built(source, relative)
        if relative.endswith("/consumers.py"):
            consumers_modules.add(relative)
            assert built, f"{relative} builds no consumer through the shared classes"
        for b in built:
            if b.name is None:
                unnamed.append(f"{relative}:{b.line}")
            else:
                names[b.name] += 1
    assert unnamed == []
    assert [n for n, count in names.items() if count > 1] == []
    # The ones this file was written against: if a consumers.py disappears, say so here.
    assert {
        "services/intake/comitas_intake/complaints/consumers.py",
        "services/notifications/comitas_notifications/deadlines/consumers.py",
        "services/notifications/comitas_notifications/deliveries/consumers.py",
        "services/notifications/comitas_notifications/directory/consumers.py",
        "services/notifications/comitas_notifications/feeds/consumers.py",
        "services/referral/comitas_referral/directory/consumers.py",
        "services/referral/comitas_referral/thread/consumers.py",
    } <= consumers_modules


def test_no_module_copies_the_shared_consumer():
    """No class is built on DurableConsumer, EventConsumer or EventDispatcher outside the shared module,
    and nothing else fetches, acks, naks or terminates messages: ``deadlines/consumers.py`` no longer
    copies ``handle`` (issue 6)."""
    assert across_code_base(subclass_violations) == []
    assert across_code_base(loop_violations) == []


def test_catalogue_consumers_declare_event_type_to_typed_handler():
    """A consumer of catalogue events is an EventDispatcher of ``EventType → typed handler``; only the
    fan-outs over every event (webhooks, feeds) and the fired reminders (their own stream and decoder)
    use DurableConsumer directly (issue 6: "Reminders and the webhook fan-out … use the durable consumer
    directly")."""
    assert across_code_base(catalogue_violations) == []


def test_dispatcher_routes_name_catalogue_types_and_typed_handlers():
    """Each route of each dispatcher names a member of the catalogue, and its handler takes the payload
    as that type's EventData class (``registered(session, data: InstitutionRegistered, event)``)."""
    assert across_code_base(route_violations) == []


# --- the checker can fail -----------------------------------------------------------------------------

PROBE = "services/intake/comitas_intake/complaints/consumers.py"

ALIASED_SUBSCRIPTIONS = '''\
import nats as n
from nats.js import JetStreamContext as J

from . import service


async def listen(js: J, nc: n.NATS) -> None:
    sub = js.subscribe
    await J.pull_subscribe(js, "events.>", durable="mine")
    await getattr(js, "add_consumer")("EVENTS", None)
    await nc.subscribe("events.>")
    await (await nc.jetstream().key_value("kv")).watchall()
    await service.subscribe(None)
    await sub("events.>")
'''


def test_the_checker_reports_aliased_direct_subscriptions():
    """An aliased JetStreamContext's pull_subscribe, a subscribe taken as a value, getattr, the core
    client's subscribe and a key-value watcher are each reported at their line; a feature's own function
    called ``subscribe`` (``service.subscribe``) is not. The same code in the listed broker file is
    reported too for all but add_consumer."""
    found = [(f.line, f.detail) for f in violations(ALIASED_SUBSCRIPTIONS, PROBE)]
    assert found == [(8, "subscribe made directly"), (9, "pull_subscribe made directly"),
                     (10, "add_consumer made directly"), (11, "subscribe made directly"),
                     (12, "watchall made directly")]
    broker = "services/notifications/comitas_notifications/feeds/broker.py"
    assert [f.line for f in subscription_violations(ALIASED_SUBSCRIPTIONS, broker)] == [8, 9, 11, 12]


COPIED_LOOP = '''\
from comitas_shared.events import consumer as shared
from comitas_shared.events.consumer import DurableConsumer as Base

Copy = Base


class Deadlines(Copy):
    async def handle(self, message) -> None:
        raise NotImplementedError


class Typed(shared.EventDispatcher):
    pass


async def run(subscription) -> None:
    for message in await subscription.fetch(10, timeout=1.0):
        await message.ack()
'''


def test_the_checker_reports_a_copied_loop():
    """A subclass of an aliased DurableConsumer (through a second alias), of the dispatcher reached as
    a module attribute, and a module-level fetch and ack loop are reported."""
    found = [(f.rule, f.line, f.detail) for f in violations(COPIED_LOOP, PROBE)]
    assert found == [
        ("subclass", 7, f"class Deadlines subclasses {CONSUMER_MODULE}.DurableConsumer"),
        ("subclass", 12, f"class Typed subclasses {CONSUMER_MODULE}.EventDispatcher"),
        ("loop", 17, "fetch outside the shared consumer: a copy of its loop"),
        ("loop", 18, "ack outside the shared consumer: a copy of its loop"),
    ]


OWN_NAMES = '''\
from dataclasses import dataclass


@dataclass
class Permissions:
    subscribe: tuple[str, ...] = ()

    def claim(self):
        return {"sub": list(self.subscribe)}


def codes(acts):
    return [t.code for t in acts.term]
'''


def test_the_checker_leaves_names_that_are_not_nats_alone():
    """A class's own field called ``subscribe`` (``self.subscribe``) and a vocabulary's ``acts.term`` in a
    module that imports nothing of NATS are not reported; once the module imports nats, ``acts.term``
    could be a message's and is."""
    assert violations(OWN_NAMES, PROBE) == []
    with_nats = "import nats\n" + OWN_NAMES
    assert violations(with_nats, PROBE) == [
        Finding("loop", 14, "term outside the shared consumer: a copy of its loop")]


UNTYPED_CONSUMERS = '''\
from comitas_shared.events.catalogue import COMPLAINT_ERASED, COMPLAINT_SUBMITTED, ComplaintErased
from comitas_shared.events.consumer import DurableConsumer, EventDispatcher, event_consumer
from comitas_shared.events.consumer import decode_cloudevent as decode

NOT_AN_EVENT = "comitas.complaint.submitted"


def consumers(platform, decode_own, handle):
    async def erased(session, data: ComplaintErased, event) -> None: ...

    async def untyped(session, data, event) -> None: ...

    routes = EventDispatcher().on(COMPLAINT_SUBMITTED, erased).on(COMPLAINT_ERASED, erased).on(NOT_AN_EVENT, untyped)
    return [
        DurableConsumer(name="a", subjects=[COMPLAINT_SUBMITTED.subject], decode=decode, handler=handle),
        DurableConsumer(name="b", subjects=["events.>"], decode=decode, handler=handle),
        DurableConsumer(name="c", subjects=["events.comitas.complaint.>"], decode=decode_own, handler=handle),
        DurableConsumer(name="d", subjects=["timers.>"], decode=decode_own, handler=handle, stream="TIMERS"),
        DurableConsumer(name="e", subjects=routes.subjects, decode=decode, handler=routes),
        event_consumer(name="f", dispatcher=routes),
        event_consumer(name="g", dispatcher=handle),
    ]
'''


def test_the_checker_reports_untyped_catalogue_consumers():
    """A DurableConsumer of one catalogue type, one reading the events stream with its own decoder, an
    event_consumer without a dispatcher, a route whose handler is typed for another event and a route
    naming a string rather than an EventType are reported; the fan-out over ``events.>``, a consumer of
    another stream with its own decoder and the dispatcher's consumers are not. Built outside a
    consumers.py, each consumer is reported once more."""
    found = [(f.rule, f.line) for f in violations(UNTYPED_CONSUMERS, PROBE)]
    assert found == [("route", 13), ("route", 13), ("catalogue", 15), ("catalogue", 17), ("catalogue", 21)]
    details = [f.detail for f in route_violations(UNTYPED_CONSUMERS, PROBE)]
    assert sorted(details) == ["NOT_AN_EVENT is not a member of the catalogue",
                               "erased for comitas.complaint.submitted does not take its payload as ComplaintSubmitted"]
    elsewhere = "services/intake/comitas_intake/complaints/service.py"
    assert [f.line for f in placement_violations(UNTYPED_CONSUMERS, elsewhere)] == [15, 16, 17, 18, 19, 20, 21]


@pytest.mark.parametrize("snippet", [
    "from nats.js.api import ConsumerConfig as C\nC(deliver_subject='x')\n",
    "import nats.js.api as api\n\ndef follow_subject():\n    api.ConsumerConfig(ack_policy=None)\n",
])
def test_the_checker_reports_a_consumer_that_is_not_durable(snippet):
    """A ConsumerConfig without a durable name, however imported, is reported; the allowance is for the
    shared module's follow_subject, not for a function of that name elsewhere."""
    assert [f.rule for f in violations(snippet, PROBE)] == ["durable"]


def test_the_checker_reports_follow_subject_elsewhere():
    """The non-durable follower, aliased, used outside the shared module is reported."""
    snippet = "from comitas_shared.events.consumer import follow_subject as follow\nfollow\n"
    assert follow_subject_uses(snippet, PROBE) == [Finding("follow_subject", 2, "follow_subject (an ephemeral consumer)")]
