{
  "targets": [
    {
      "target_name": "simrec_hnsw",
      "sources": ["hnsw.cc"],
      "include_dirs": [
        "<!(node -p \"require('node:path').join(require('node:path').dirname(require.resolve('hnswlib-node')), '..', 'src')\")"
      ],
      "cflags_cc!": ["-fno-exceptions"],
      "cflags_cc": ["-std=c++17"]
    }
  ]
}
