"""The test process's shortcuts through botocore (tests/botocore_models.py) give botocore's own answers.

The plugin remembers what botocore recomputes for every new session and client. Each shortcut
must answer exactly as the function it stands in for, or every AWS test would run against a
botocore that behaves differently from the one users get.
"""

from __future__ import annotations

import copy

import botocore.compat
import botocore.hooks

from tests import botocore_models as plugin


class _Handlers:
    def with_kwargs(self, request, **kwargs):
        return request

    def without_kwargs(self, request):
        return request


def test_accepts_kwargs_answers_as_botocore_for_functions_methods_and_other_callables() -> None:
    first, second = _Handlers(), _Handlers()
    callables = [
        first.with_kwargs,
        second.with_kwargs,
        first.without_kwargs,
        second.without_kwargs,
        _Handlers.with_kwargs,
        lambda request: request,
        lambda **kwargs: kwargs,
        print,  # a builtin: not remembered, asked afresh
    ]
    for func in callables * 2:  # the second round answers from memory
        assert plugin._accepts_kwargs(func) == bool(botocore.compat.accepts_kwargs(func)), func


def test_aliased_event_names_are_botocores_own() -> None:
    names = [
        "before-call.sagemaker.CreateEndpoint",
        "before-parameter-build.s3.PutObject",
        "creating-client-class.application-autoscaling",  # renamed: application-auto-scaling
        "before-call.api.sagemaker.CreateModel",  # renamed, a dotted part: sagemaker
        "after-call.cloudsearchdomain.Search",  # renamed: cloudsearch-domain
        "request-created.sagemaker-runtime.InvokeEndpoint",
    ]
    fresh = botocore.hooks.EventAliaser(botocore.hooks.HierarchicalEmitter())
    copied = copy.copy(fresh)  # as each client copies its session's emitter
    for name in names * 2:  # the second round answers from memory
        expected = plugin._aliasing(botocore.hooks.EventAliaser(botocore.hooks.HierarchicalEmitter()), name)
        assert plugin._alias_event_name(fresh, name) == plugin._alias_event_name(copied, name) == expected, name
    assert plugin._alias_event_name(fresh, names[2]) == "creating-client-class.application-auto-scaling"


def test_an_emitter_with_its_own_aliases_is_not_answered_from_memory() -> None:
    default = botocore.hooks.EventAliaser(botocore.hooks.HierarchicalEmitter())
    custom = botocore.hooks.EventAliaser(botocore.hooks.HierarchicalEmitter(), {"sagemaker": "renamed"})
    name = "before-call.sagemaker.CreateModel"
    assert plugin._alias_event_name(default, name) == name
    assert plugin._alias_event_name(custom, name) == "before-call.renamed.CreateModel"
