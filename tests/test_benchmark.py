"""`bench --servers`: the figures it prints are those of the library as the bot builds it (no timings asserted)."""

from pathlib import Path

from bot.benchmark import bench_servers, render_server_bench, synthetic_collection, synthetic_passages
from bot.cli import main
from bot.knowledge.loader import parse_document


def test_server_bench_compares_with_one_combined_index_and_other_engines():
    figures = bench_servers(1_500, servers=3, queries=20, compare=10)
    assert figures["servers"] == 3 and figures["identical_to_combined_index"] == "10/10"
    engines = {row["engine"]: row for row in figures["engines"]}
    assert engines["rank-bm25 (reference)"]["same_top10"] == "10/10"
    assert float(engines["rank-bm25 (reference)"]["max_score_difference"]) < 1e-6
    table = render_server_bench(figures)
    assert "| this project (segments) |" in table and "| rank-bm25 (reference) |" in table


def test_a_synthetic_collection_is_three_documents_with_a_word_of_their_own():
    files = synthetic_collection(4, synthetic_passages(9, seed=1))
    documents = [parse_document(Path(f.filename), f.text) for f in files]
    assert len(documents) == 3 and all(len(d.body) == 4 for d in documents)  # 3 passages and "Our <word> rules."
    assert all(files[0].text.split("Our ")[1].split()[0] in f.text for f in files)


def test_bench_servers_from_the_command_line(capsys):
    assert main(["bench", "--passages", "1000", "--servers", "2", "--queries", "10"]) == 0
    out = capsys.readouterr().out
    assert "memory_per_server_mib" in out and "| engine | build s |" in out
