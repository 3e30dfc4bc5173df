"""Applications built on vecgrad: MNIST data (IDX reader, downloader, loaders), the
``vecgrad-mnist`` training CLI, its plots and the L2 sweep. They use the library; the
library never imports them."""
