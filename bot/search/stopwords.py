"""Words that carry no topic in a question or a passage."""

# A standard English list (close to Lucene's and NLTK's) plus the question and
# chat words people type in a channel ("hi", "pls", "wut"). Contractions are
# listed with their apostrophes removed because analysis drops them.
STOP_WORDS = frozenset("""
a about above after again against all am an and any are aren arent as at be because been before being
below between both but by can cannot cant could couldn couldnt did didn didnt do does doesn doesnt doing
don dont down during each few for from further had hadn hadnt has hasn hasnt have haven havent having he
hed hell hes her here heres hers herself him himself his how hows i id ill im ive if in into is isn isnt
it its itself lets me more most mustn mustnt my myself no nor not of off on once only or other ought our
ours ourselves out over own same shan shant she shed shell shes should shouldn shouldnt so some such
than that thats the their theirs them themselves then there theres these they theyd theyll theyre theyve
this those through to too under until up very was wasn wasnt we wed well were weve weren werent what
whats when whens where wheres which while who whos whom why whys will with won wont would wouldn wouldnt
you youd youll youre youve your yours yourself yourselves also just yes yeah ok okay please pls plz
hi hello hey thanks thank thx ty lol wut wat u ur r ya yo bot hmm s t d ll m o re ve y ain
anything something everything nothing anyone someone everyone really actually much many lot lots
get got gets getting go going goes went gone let make made way thing things kind sort
happen happens happened happening done regarding concerning stuff
""".split())  # "us" stays searchable: it is also "U.S."

# Words that frame a question about the text rather than name its topic
# ("what does the article say about X"). They are searched with a low weight
# and left out of the coverage that decides whether to answer.
FRAMING_WORDS = frozenset("""
article articles piece story essay text author writer say says said saying mention mentions mentioned
discuss discusses discussed talk talks talked think thinks thought write writes wrote written writing tell tells
told describe describes described explain explains explained claim claims argue argues argued know
knew believe believes view opinion recommend recommends recommended recommendation
recommendations suggest suggests suggested suggestion suggestions propose proposes proposed advise
advises advice
""".split())

# Words by which a question refers to a document itself ("who wrote this piece?"), not to its content.
DOCUMENT_WORDS = frozenset("article articles piece story essay text document documents page paper post report "
                           "file licence license manual guide doc docs documentation".split())
