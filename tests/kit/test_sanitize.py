from __future__ import annotations

from gigforge.kit.sanitize import plain_text, safe_html


def test_plain_text_strips_every_tag_and_decodes_entities() -> None:
    hostile = "<script>alert(1)</script><b>Senior</b> &amp; <img src=x onerror=alert(2)>Python"
    assert plain_text(hostile) == "Senior & Python"
    assert plain_text(None) == ""
    assert plain_text("a\n\n  b", limit=2) == "a "


def test_safe_html_keeps_formatting_and_drops_active_content() -> None:
    hostile = (
        '<p onclick="steal()">Build <b>an API</b></p><script>x()</script>'
        '<a href="javascript:alert(1)">click</a><a href="https://ok.example/x">docs</a>'
        '<iframe src="https://evil.example"></iframe><style>body{}</style>'
    )
    cleaned = safe_html(hostile)
    assert "<p>Build <b>an API</b></p>" in cleaned
    for bad in ("script", "onclick", "javascript:", "iframe", "style"):
        assert bad not in cleaned
    assert 'href="https://ok.example/x"' in cleaned
    assert 'rel="noopener noreferrer nofollow"' in cleaned
