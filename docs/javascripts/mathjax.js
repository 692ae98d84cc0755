// MathJax for the formulas on the pages (pymdownx.arithmatex) and in the notebooks
window.MathJax = {
  tex: { inlineMath: [["\\(", "\\)"], ["$", "$"]], displayMath: [["\\[", "\\]"], ["$$", "$$"]],
         processEscapes: true, processEnvironments: true },
  options: { ignoreHtmlClass: ".*|", processHtmlClass: "arithmatex|jupyter-wrapper" }
};
document$.subscribe(() => { MathJax.typesetPromise && MathJax.typesetPromise(); });
