# A stand-in for a real preprocessor (admonitions, KaTeX, …): `!!shout!!` becomes `**SHOUTED**`.
import json, sys
if len(sys.argv) > 1 and sys.argv[1] == "supports":
    sys.exit(0)
context, book = json.load(sys.stdin)
def walk(items):
    for item in items:
        chapter = item.get("Chapter") if isinstance(item, dict) else None
        if chapter:
            chapter["content"] = chapter["content"].replace("!!shout!!", "**SHOUTED**")
            walk(chapter["sub_items"])
walk(book["items"])
json.dump(book, sys.stdout)
