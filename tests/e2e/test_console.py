"""The web console (/webui/) in a real headless Chromium: Debian's `chromium` package,
driven by Playwright from PyPI (its auto-waiting `expect` assertions, request routing and
full-page screenshots need no hand-written waits; it never downloads a browser here, it is
pointed at /usr/bin/chromium).

Data is made and checked with pymilvus; the page is read and clicked as a user would,
through labels and button names. Set QUIVER_UPDATE_DOCS_SCREENSHOT=1 to write the
screenshot test's image to docs/console.png (the README shows it).
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
from pathlib import Path

import pytest
import requests
from PIL import Image
from playwright.sync_api import Page, expect, sync_playwright
from pymilvus import DataType, MilvusClient
from pymilvus.exceptions import MilvusException

from conftest import QuiverServer, data_config
from helpers import wait_index_finished

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 1280, "height": 900}
DOCS_SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "console.png"
DIM = 8
ROWS = 300
UI_TIMEOUT_MS = 30_000


# ---- server and browser -----------------------------------------------------------------


@pytest.fixture(scope="module")
def server(quiver_bin, tmp_path_factory):
    """The module's Quiver, without automatic compaction: the tests compare the segments
    the page shows with those pymilvus lists, so none may be merged in between."""
    base = tmp_path_factory.mktemp("quiver-console")
    srv = QuiverServer(quiver_bin, base / "data", base / "quiver.log", config=data_config(compaction_interval_seconds=86_400))
    srv.start()
    yield srv
    if srv.running:
        srv.stop()



@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    """One Chromium for the module, with a fresh profile directory."""
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"{CHROMIUM} not found: install Debian's chromium package (scripts/test.sh does)", pytrace=False)
    profile = tmp_path_factory.mktemp("chromium-profile")
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(profile),
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_ARGS,
            viewport=VIEWPORT,
            device_scale_factor=1,
            locale="en-GB",
        )
        try:
            yield context
        finally:
            context.close()


@pytest.fixture
def page(browser, server) -> Page:
    """A new tab; every request it makes is recorded in `page.requested`, dialogs
    (the drop confirmation) are accepted."""
    tab = browser.new_page()
    tab.set_default_timeout(UI_TIMEOUT_MS)
    tab.requested = []
    tab.on("request", lambda request: tab.requested.append(request.url))
    tab.on("dialog", lambda dialog: dialog.accept())
    yield tab
    tab.close()


def open_console(page: Page, base_url: str) -> None:
    page.goto(f"{base_url}/webui/")
    expect(page.locator("#version")).to_contain_text("Quiver v")


def open_collection(page: Page, base_url: str, name: str, db: str = "default") -> None:
    open_console(page, base_url)
    page.get_by_role("button", name=f"Show collection {name} of database {db}").click()
    expect(page.locator("#detail-name")).to_have_text(f"{db}.{name}")


# ---- data --------------------------------------------------------------------------------


def make_collection(client: MilvusClient, name: str) -> None:
    """ROWS rows in sealed segments with a built HNSW index, loaded."""
    schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("vector", DataType.FLOAT_VECTOR, dim=DIM)
    schema.add_field("title", DataType.VARCHAR, max_length=64)
    index = client.prepare_index_params()
    index.add_index("vector", index_name="vec_idx", index_type="HNSW", metric_type="L2", params={"M": 8, "efConstruction": 64})
    client.create_collection(name, schema=schema, index_params=index)
    for start in (0, ROWS // 2):  # two flushes: two segments
        client.insert(name, [{"id": i, "vector": [float((i * (k + 1)) % 13) for k in range(DIM)], "title": f"t{i}"}
                             for i in range(start, start + ROWS // 2)])
        client.flush(name)
    wait_index_finished(client, name, "vec_idx", ROWS)
    client.load_collection(name)


def all_rows(client: MilvusClient, name: str) -> list:
    rows = client.query(name, filter="id >= 0", output_fields=["id", "vector", "title"], limit=ROWS + 10)
    return sorted(([r["id"], [float(x) for x in r["vector"]], r["title"]] for r in rows), key=lambda r: r[0])


ALL_FILES = ("insert_log/*/*/{segment}/*", "delta_log/*/*/{segment}/*", "index_files/*/*/*/{segment}/*")


def stored_bytes(objects: Path, segment_ids, patterns=ALL_FILES) -> int:
    """Bytes of these segments' files in the local store (by default their insert, delete
    and index files; `docs/FORMAT.md`: the segment id is the folder holding its files)."""
    return sum(
        p.stat().st_size
        for segment in segment_ids
        for pattern in patterns
        for p in objects.glob(pattern.format(segment=segment))
        if p.is_file()
    )


# ---- tests -------------------------------------------------------------------------------


def test_the_page_shows_collections_rows_segments_and_indexes(page, client, server, unique_name):
    name = unique_name("console")
    make_collection(client, name)
    open_collection(page, server.uri, name)

    row = page.locator(f'#collections tr[data-collection="{name}"]')
    expect(row).to_contain_text(f"{ROWS:,}")
    expect(row).to_contain_text("Loaded")
    expect(row).to_contain_text("vector FloatVector(8)")
    expect(row).to_contain_text("id Int64 [primary key]")

    segments = client.list_persistent_segments(name)
    assert len(segments) == 2, segments
    for segment in segments:
        line = page.locator(f'#segments tr[data-segment="{segment.segment_id}"]')
        expect(line).to_contain_text("Flushed")
        expect(line).to_contain_text(f"{segment.num_rows:,}")
        expect(line).to_contain_text("Finished")  # its index is built
        data_files = stored_bytes(server.objects_dir, [segment.segment_id], ALL_FILES[:2])
        expect(line.locator("td[data-bytes]")).to_have_attribute("data-bytes", str(data_files))

    index = page.locator('#indexes tr[data-index="vec_idx"]')
    for text in ("vector", "HNSW", "L2", "M=8", "efConstruction=64", "Finished", f"{ROWS:,} of {ROWS:,} rows"):
        expect(index).to_contain_text(text)


def test_snapshot_create_restore_and_drop_from_the_page(page, client, server, unique_name):
    name, snapshot, target = unique_name("console"), unique_name("snap"), unique_name("restored")
    make_collection(client, name)
    open_collection(page, server.uri, name)

    # Create, with the page's form and button.
    page.get_by_label("Snapshot name").fill(snapshot)
    page.get_by_label("Description").fill("made in the console")
    page.get_by_role("button", name="Create snapshot").click()
    expect(page.locator("#notice")).to_contain_text(f"Snapshot {snapshot} of {name} created")
    assert client.list_snapshots(collection_name=name) == [snapshot]
    line = page.locator(f'#snapshots tr[data-snapshot="{snapshot}"]')
    expect(line).to_contain_text("made in the console")
    segments = [s.segment_id for s in client.list_persistent_segments(name)]
    # Its size: every data and index file it captured, as stored.
    expect(line.locator("td[data-bytes]")).to_have_attribute("data-bytes", str(stored_bytes(server.objects_dir, segments)))
    expect(line).to_contain_text(f"{ROWS:,}")

    # Restore into a new collection, and watch the job end on the page by itself: the
    # first job list the page reads is held back as still running at 50%, so the page
    # must poll on its own to see the real Completed.
    job_lists = []

    def first_one_running(route):
        reply = route.fetch()
        jobs = reply.json()
        if not job_lists:
            for job in jobs["data"]:
                job.update(state="Executing", terminal=False, progress=50)
        job_lists.append(jobs["data"])
        route.fulfill(response=reply, body=json.dumps(jobs))

    page.route("**/webui/api/jobs", first_one_running)
    page.get_by_role("button", name=f"Restore snapshot {snapshot}").click()
    expect(page.get_by_label("Target collection")).to_be_focused()
    expect(page.get_by_label("Snapshot", exact=True)).to_have_value(snapshot)
    expect(page.get_by_label("Target database")).to_have_value("default")
    page.get_by_label("Target collection").fill(target)
    page.get_by_role("button", name="Restore snapshot", exact=True).click()
    expect(page.locator("#notice")).to_contain_text(f"into default.{target}")
    job_id = re.search(r"Restore job (\d+) started", page.locator("#notice").inner_text()).group(1)
    job = page.locator(f'#jobs tr[data-job="{job_id}"]')
    expect(job).to_have_attribute("data-state", "Executing")
    expect(job).to_contain_text("50%")
    expect(job).to_have_attribute("data-state", "Completed")
    expect(job).to_contain_text("100%")
    expect(job).to_contain_text(f"default.{target}")
    assert len(job_lists) >= 2, "the page did not poll the job list"
    page.unroute("**/webui/api/jobs")
    info = client.get_restore_snapshot_state(int(job_id))
    assert info.state == "RestoreSnapshotCompleted", info
    # The bytes the job copied: every file of the snapshot.
    expect(job).to_contain_text(f"{size_text(stored_bytes(server.objects_dir, segments))} of ")
    # The restored collection answers with the same rows.
    expect(page.locator(f'#collections tr[data-collection="{target}"]')).to_contain_text(f"{ROWS:,}")
    client.load_collection(target)
    assert all_rows(client, target) == all_rows(client, name)

    # Drop it (the page asks first; the dialog is accepted).
    page.get_by_role("button", name=f"Drop snapshot {snapshot}").click()
    expect(page.locator("#notice")).to_contain_text(f"Snapshot {snapshot} dropped")
    expect(line).to_have_count(0)
    assert client.list_snapshots(collection_name=name) == []


def size_text(n: int) -> str:
    """The page's way of writing a size."""
    units = ["B", "KiB", "MiB", "GiB"]
    value, unit = float(n), 0
    while value >= 1024 and unit < len(units) - 1:
        value, unit = value / 1024, unit + 1
    return f"{n} B" if unit == 0 else f"{value:.1f} {units[unit]}"


def test_an_existing_snapshot_name_shows_milvus_s_message(page, client, server, unique_name):
    name, snapshot = unique_name("console"), unique_name("snap")
    make_collection(client, name)
    client.create_snapshot(snapshot, name)
    with pytest.raises(MilvusException) as refused:
        client.create_snapshot(snapshot, name)
    open_collection(page, server.uri, name)
    page.get_by_label("Snapshot name").fill(snapshot)
    page.get_by_role("button", name="Create snapshot").click()
    notice = page.locator("#notice")
    expect(notice).to_contain_text(refused.value.message)
    expect(notice).to_contain_text(f"(code {refused.value.code})")
    expect(notice).to_have_class("error")
    assert client.list_snapshots(collection_name=name) == [snapshot]


def test_the_console_is_served_on_the_metrics_port_too(page, client, server, unique_name):
    name = unique_name("console")
    make_collection(client, name)
    open_collection(page, server.metrics_url, name)
    expect(page.locator(f'#collections tr[data-collection="{name}"]')).to_contain_text(f"{ROWS:,}")
    expect(page.locator('#indexes tr[data-index="vec_idx"]')).to_contain_text("HNSW")


@pytest.mark.parametrize("port", ["grpc", "metrics"])
def test_assets_are_embedded_and_name_no_other_host(page, server, port):
    base = server.uri if port == "grpc" else server.metrics_url
    moved = requests.get(f"{base}/webui", allow_redirects=False, timeout=10)
    assert moved.status_code in (301, 308) and moved.headers["Location"] == "/webui/", moved
    types = {"": "text/html", "console.css": "text/css", "console.js": "text/javascript"}
    for path, content_type in types.items():
        reply = requests.get(f"{base}/webui/{path}", timeout=10)
        assert reply.status_code == 200, (path, reply.status_code)
        assert reply.headers["Content-Type"].startswith(content_type), (path, reply.headers["Content-Type"])
        assert "default-src 'self'" in reply.headers["Content-Security-Policy"]
        assert not re.search(r"https?://", reply.text), f"{path} names another host"
    # And the browser asked nothing of anyone else.
    open_console(page, base)
    expect(page.locator("#jobs")).to_be_visible()
    assert page.requested and all(url.startswith((f"{base}/webui", "data:")) for url in page.requested), page.requested


def test_full_page_screenshot(page, client, server, tmp_path):
    name, snapshot, target = "products", "before_cleanup", "products_restored"
    for leftover in (name, target):
        client.drop_collection(leftover)
    make_collection(client, name)
    client.create_snapshot(snapshot, name, description="nightly")
    job = client.restore_snapshot(snapshot, name, target)
    open_collection(page, server.uri, name)
    expect(page.locator(f'#jobs tr[data-job="{job}"]')).to_have_attribute("data-state", "Completed")
    expect(page.locator(f'#snapshots tr[data-snapshot="{snapshot}"]')).to_be_visible()

    png = page.screenshot(full_page=True)
    (tmp_path / "console.png").write_bytes(png)
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    image = Image.open(io.BytesIO(png))
    image.load()
    assert image.width == VIEWPORT["width"], image.size
    assert image.height >= VIEWPORT["height"], image.size
    rgb = image.convert("RGB")
    colours = rgb.getcolors(maxcolors=1 << 20)
    assert colours is not None and len(colours) > 50, f"{len(colours or [])} colours: a blank page?"
    most = max(count for count, _ in colours)
    assert most < 0.95 * image.width * image.height, "one colour fills the page"
    # The stylesheet applied: the header band has its colour (#17213a).
    assert rgb.getpixel((5, 5)) == (0x17, 0x21, 0x3A), rgb.getpixel((5, 5))
    if os.environ.get("QUIVER_UPDATE_DOCS_SCREENSHOT") == "1":
        shutil.copyfile(tmp_path / "console.png", DOCS_SCREENSHOT)


def test_under_authorization_the_page_asks_for_a_user(browser, quiver_bin, tmp_path):
    srv = QuiverServer(quiver_bin, tmp_path / "data", tmp_path / "quiver.log", config="[security]\nauthorization = true\n")
    srv.start()
    tab = browser.new_page()
    tab.set_default_timeout(UI_TIMEOUT_MS)
    sent = []
    tab.on("request", lambda request: sent.append(request.headers.get("authorization")))
    try:
        root = MilvusClient(uri=srv.uri, token="root:Milvus", dedicated=True)
        root.create_collection("guarded", dimension=DIM)
        root.create_user("viewer", "viewer-pass")
        tab.goto(f"{srv.uri}/webui/")
        form = tab.get_by_role("form", name="Sign in")
        expect(form).to_be_visible()
        expect(tab.locator("#notice")).to_contain_text("missing authorization")
        # A user without the admin role is refused with Milvus's words; the form stays.
        tab.get_by_label("User").fill("viewer")
        tab.get_by_label("Password").fill("viewer-pass")
        form.get_by_role("button", name="Sign in").click()
        expect(tab.locator("#notice")).to_contain_text("permission deny to viewer")
        expect(form).to_be_visible()
        # A wrong password brings the form back.
        tab.get_by_label("User").fill("root")
        tab.get_by_label("Password").fill("wrong")
        form.get_by_role("button", name="Sign in").click()
        expect(tab.locator("#notice")).to_contain_text("auth check failure")
        expect(form).to_be_visible()
        tab.get_by_label("User").fill("root")
        tab.get_by_label("Password").fill("Milvus")
        form.get_by_role("button", name="Sign in").click()
        expect(tab.locator("#collections")).to_contain_text("guarded")
        expect(form).to_be_hidden()
        assert "Bearer root:Milvus" in sent
    finally:
        tab.close()
        srv.stop()
