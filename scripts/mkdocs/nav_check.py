"""mkdocs hook: a page of docs/ that the nav leaves out is a warning, so `mkdocs build --strict`
fails on it. (MkDocs 1.5+ says the same with `validation: nav: omitted_files: warn`; Debian's
mkdocs 1.4 only logs it at INFO level.)"""
import logging

log = logging.getLogger("mkdocs.hooks.nav_check")


def on_nav(nav, config, files):
    in_nav = {page.file.src_uri for page in nav.pages}
    for f in files.documentation_pages():
        if f.src_uri not in in_nav:
            log.warning("docs/%s is not in mkdocs.yml's nav: add it, so a reader can find it", f.src_uri)
    return nav
