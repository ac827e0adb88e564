// Renders the status whose id ends the page's path, from the API's JSON.
(function () {
  "use strict";
  var root = document.getElementById("react-root");
  var id = location.pathname.split("/").pop();
  fetch("/i/api/1.1/statuses/show.json?id=" + id + "&tweet_mode=extended")
    .then(function (response) { return response.json(); })
    .then(function (tweet) {
      var user = tweet.user;
      var article = document.createElement("article");
      var header = document.createElement("header");
      var avatar = new Image(48, 48);
      var name = document.createElement("strong");
      var handle = document.createElement("span");
      var text = document.createElement("p");
      var time = document.createElement("time");
      document.title = user.name + " (@" + user.screen_name + ") on Twitter";
      avatar.src = user.profile_image_url_https;
      avatar.alt = user.name;
      name.textContent = user.name;
      handle.textContent = "@" + user.screen_name;
      header.append(avatar, name, " ", handle);
      text.lang = tweet.lang;
      text.textContent = tweet.full_text;
      article.append(header, text);
      tweet.extended_entities.media.forEach(function (media) {
        var photo = new Image(media.sizes.small.w, media.sizes.small.h);
        photo.src = media.media_url_https;
        photo.alt = "Image";
        article.append(photo);
      });
      time.textContent = tweet.created_at;
      article.append(time);
      root.append(article);
    });
})();
