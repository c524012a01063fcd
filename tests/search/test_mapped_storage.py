"""Index files read through memory maps (portal.search.mapped): the same answers as Whoosh's own files."""

from __future__ import annotations

import mmap

from whoosh import index as windex
from whoosh.fields import ID, STORED, TEXT, Schema
from whoosh.filedb.filestore import FileStorage

from portal.search.mapped import MappedStorage


def _index(path, segments: int = 3, per_segment: int = 40):
    schema = Schema(key=ID(stored=True, unique=True), body=TEXT(stored=True, phrase=True), data=STORED())
    ix = windex.create_in(str(path), schema)
    n = 0
    for _ in range(segments):
        # Separate files per segment, as the portal writes them (portal.search.index).
        with ix.writer(compound=False) as writer:
            for _ in range(per_segment):
                writer.add_document(key=f"d{n}", body=f"jeugdhulp op school {n % 7} thuiszitters " * (n % 5 + 1),
                                    data=f"{{\"n\": {n}}}")
                n += 1
    return ix


def _everything(ix) -> list:
    """Every term with its postings (document, frequency, positions), and every stored document."""
    seen = []
    with ix.searcher() as searcher:
        reader = searcher.reader()
        for fieldname, text in reader.all_terms():
            postings = reader.postings(fieldname, text)
            items = []
            while postings.is_active():
                positions = postings.value_as("positions") if fieldname == "body" else None
                items.append((postings.id(), postings.weight(), positions))
                postings.next()
            seen.append((fieldname, text, reader.doc_frequency(fieldname, text), items))
        seen.append([searcher.stored_fields(n) for n in range(searcher.doc_count_all())])
    return seen


def test_mapped_files_read_what_whoosh_reads(tmp_path):
    _index(tmp_path)
    plain = FileStorage(str(tmp_path)).open_index()
    mapped = MappedStorage(str(tmp_path)).open_index()
    assert len(mapped.reader().leaf_readers()) == 3
    assert _everything(mapped) == _everything(plain)


def test_segment_files_are_maps_and_an_empty_file_still_opens(tmp_path):
    _index(tmp_path, segments=1)
    storage = MappedStorage(str(tmp_path))
    names = [name for name in storage.list() if name.endswith((".trm", ".pst"))]
    assert names
    for name in names:
        handle = storage.open_file(name)
        assert isinstance(handle.file, mmap.mmap)  # reads without a system call per read
        handle.close()
    (tmp_path / "leeg.bin").write_bytes(b"")
    handle = storage.open_file("leeg.bin")  # an empty file cannot be mapped: opened as a file
    assert handle.read() == b""
    handle.close()


def test_a_mapped_file_stays_readable_after_a_merge_removed_it(tmp_path):
    ix = _index(tmp_path)
    mapped = MappedStorage(str(tmp_path)).open_index()
    with mapped.searcher() as searcher:
        before = [searcher.stored_fields(n) for n in range(searcher.doc_count_all())]
        ix.optimize()  # one new segment; the old segments' files are deleted
        assert [searcher.stored_fields(n) for n in range(searcher.doc_count_all())] == before
        assert searcher.doc_frequency("body", "jeugdhulp") == len(before)


def test_the_portal_opens_its_index_through_maps(site):
    keeper = site.registry["search_service"].keeper
    assert isinstance(keeper.generation.index.storage, MappedStorage)


def _maps_of(folder) -> list[str]:
    with open("/proc/self/maps", encoding="utf-8") as maps:
        return [line.split()[-1] for line in maps if str(folder) in line]


def test_closing_a_searcher_releases_its_maps(tmp_path):
    """Nothing stays mapped once the readers are closed: an evicted index (bench/search's cold runs, a removed
    generation) is really gone from this process."""
    _index(tmp_path)
    mapped = MappedStorage(str(tmp_path)).open_index()
    with mapped.searcher() as searcher:
        assert searcher.doc_frequency("body", "jeugdhulp") == 120
        assert _maps_of(tmp_path)
    assert _maps_of(tmp_path) == []
